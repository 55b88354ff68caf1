"""Formatting for the portal's pages, one set of filters for every template: money, shares, plain numbers,
dates (dd.mm.yyyy) and times (Europe/Minsk, no offset), the way a Russian reader expects."""

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.translation import get_language

register = template.Library()

NBSP = "\u00a0"


def _english() -> bool:
    return (get_language() or "ru").startswith("en")


def _decimal(value) -> Decimal | None:
    """A number from a Decimal, int, float or numeric string ("253523.34", as JSON evidence keeps it)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _format_decimal(number: Decimal, places: int) -> str:
    """`places` decimals, thousands grouped: '1 234,56' (ru/be: no-break space, comma), '1,234.56' (en)."""
    quantum = Decimal(1).scaleb(-places)
    number = number.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "−" if number < 0 else ""
    whole, _, fraction = f"{abs(number):.{places}f}".partition(".")
    if _english():
        text = _group_thousands(whole, ",") + (f".{fraction}" if fraction else "")
    else:
        text = _group_thousands(whole, NBSP) + (f",{fraction}" if fraction else "")
    return f"{sign}{text}"


def _group_thousands(digits: str, separator: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return separator.join(groups)


@register.filter
def money(value, currency: str = "BYN") -> str:
    """1234567.891 -> '1 234 567,89 BYN' in Russian/Belarusian, '1,234,567.89 BYN' in English."""
    amount = _decimal(value)
    if amount is None:
        return "—" if value is None or value == "" else str(value)
    text = _format_decimal(amount, 2)
    return f"{text}{NBSP}{currency}" if currency else text


@register.filter
def share(value) -> str:
    """0.4567 -> '45,7 %' (Russian) / '45.7%' (English); None -> '—'."""
    fraction = _decimal(value)
    if fraction is None:
        return "—" if value is None or value == "" else str(value)
    text = _format_decimal(fraction * 100, 1)
    return f"{text}%" if _english() else f"{text}{NBSP}%"


@register.filter
def number(value, places=None) -> str:
    """A plain number: 1234567 -> '1 234 567'; `number:2` -> '7,00' (ru/be) / '7.00' (en); None -> '—'.
    Without `places`, integers show none and other numbers as many as they carry ('1,00000001')."""
    amount = _decimal(value)
    if amount is None:
        return "—" if value is None or value == "" else str(value)
    if places is None or places == "":
        exponent = amount.normalize().as_tuple().exponent
        places = 0 if amount == amount.to_integral_value() else -int(exponent)
    return _format_decimal(amount, int(places))


def _moment(value) -> datetime | date | None:
    """A date or datetime from itself or an ISO string (evidence keeps "2026-01-31T10:00:00+03:00")."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed if len(value.strip()) > 10 else parsed.date()
    return None


def _local(moment: datetime) -> datetime:
    """A datetime in the portal's time zone (Europe/Minsk); a naive one is taken as already local.
    One Minsk cannot hold (year 1 at +14:00, typed into a filter link) is shown as it came."""
    try:
        return timezone.localtime(moment) if timezone.is_aware(moment) else moment
    except OverflowError:
        return moment


@register.filter
def day(value) -> str:
    """A date as 'dd.mm.yyyy' (a datetime: its day in Europe/Minsk); None -> '—'."""
    moment = _moment(value)
    if moment is None:
        return "—" if value is None or value == "" else str(value)
    if isinstance(moment, datetime):
        moment = _local(moment)
    return moment.strftime("%d.%m.%Y")


@register.filter
def when(value, precision: str = "minutes") -> str:
    """A moment as 'dd.mm.yyyy HH:MM' (no-break space) in Europe/Minsk, no offset shown; `when:"seconds"` adds seconds.
    A plain date shows as 'dd.mm.yyyy'; None -> '—'."""
    moment = _moment(value)
    if moment is None:
        return "—" if value is None or value == "" else str(value)
    if not isinstance(moment, datetime):
        return moment.strftime("%d.%m.%Y")
    # A no-break space: a moment never wraps between its day and its time in a narrow column.
    pattern = "%d.%m.%Y %H:%M:%S" if precision == "seconds" else "%d.%m.%Y %H:%M"
    return _local(moment).strftime(pattern).replace(" ", NBSP)


ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
SHARE_KEYS = ("non_return_share", "threshold", "share")
DAY_SUFFIXES = ("_date", "_start", "_end", "_until", "_on", "deadline", "as_of")


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | Decimal) or (isinstance(value, str) and bool(NUMERIC.match(value)))


@register.filter
def figure(value, key="") -> str:
    """A value whose kind its name tells (JSON evidence, a filing's declared totals): `{{ w.declared|figure:w.field }}`.
    '*byn*' -> money, '*share'/'threshold' -> share, other numbers -> number, ISO strings -> day or when."""
    if value is None or value == "":
        return "—"
    key = str(key or "")
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return day(value) if key.endswith(DAY_SUFFIXES) and not key.endswith("_at") else when(value)
    if isinstance(value, str) and ISO_DAY.match(value):
        return day(value)
    if _is_number(value):
        if "byn" in key or key in ("value", "amount_byn"):
            return money(value)
        if key in SHARE_KEYS or key.endswith("_share"):
            return share(value)
        return number(value)
    return str(value)
