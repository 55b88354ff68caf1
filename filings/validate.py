"""Row validation per filing kind (DESIGN section 3). Every bad cell is recorded; nothing stops at the first.

The transfer-register checker is the hot loop of a national-scale intake, so it
is written for speed: one compiled regex per number, caches for the few
distinct platforms, countries and assets, and no per-row object beyond a tuple.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from stdnum.by import unp as stdnum_unp

from operators.models import Activity, FilingKind, KycLevel
from operators.tabular.errors import ErrorList
from operators.validators import is_country_code

MINSK = ZoneInfo("Europe/Minsk")
_fromisoformat = datetime.fromisoformat

COLUMNS: dict[str, tuple[str, ...]] = {
    FilingKind.TRANSFER_REGISTER: (
        "external_id",
        "occurred_at",
        "direction",
        "investor_ref",
        "platform",
        "platform_country",
        "asset",
        "amount",
        "value_byn",
    ),
    FilingKind.CLIENT_REGISTER: ("investor_ref", "residency_country", "registered_at", "kyc_level"),
    FilingKind.OPERATOR_PROFILE: (
        "unp",
        "name",
        "htp_certificate_no",
        "htp_certificate_valid_until",
        "activity",
        "legal_address",
        "aml_officer",
        "website",
    ),
}
# Profile columns an operator may leave empty.
OPTIONAL = {"legal_address", "aml_officer", "website"}
# Columns a file may carry or not (DESIGN section 3 allows optional columns). The intake neither checks
# nor stores them (its COPY loads the columns above); `counterparty_wallet`, the address the transfer
# went to or came from, is read by the sanctions screening from the accepted file (screening.wallets).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {FilingKind.TRANSFER_REGISTER: ("counterparty_wallet",)}

_NUMBER = re.compile(r"(-?)(\d+)(?:\.(\d+))?")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ASSET = re.compile(r"[A-Z0-9]{2,10}")
SLUG_RE, ASSET_RE = _SLUG, _ASSET
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_header(header: list[str], kind: str, errors: ErrorList) -> list[int] | None:
    """Positions of the kind's columns in the file (order is free), or None with every header problem recorded."""
    expected = COLUMNS[kind]
    optional = OPTIONAL_COLUMNS.get(kind, ())
    ok = True
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.add(1, name, name, "duplicate_column")
            ok = False
        seen.add(name)
        if name not in expected and name not in optional:
            errors.add(1, name, name, "unknown_column")
            ok = False
    for name in expected:
        if name not in seen:
            errors.add(1, name, "", "missing_column")
            ok = False
    if not ok:
        return None
    return [header.index(name) for name in expected]


def minsk_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """[start, end) instants of a period of Minsk calendar dates."""
    lo = datetime.combine(period_start, datetime.min.time(), tzinfo=MINSK)
    hi = datetime.combine(period_end + timedelta(days=1), datetime.min.time(), tzinfo=MINSK)
    return lo, hi


def _text(errors: ErrorList, row: int, column: str, value: str, limit: int = 64) -> bool:
    if not value:
        errors.add(row, column, value, "required")
        return False
    if len(value) > limit:
        errors.add(row, column, value, "too_long")
        return False
    if not value.isprintable():
        errors.add(row, column, value, "invalid_text")
        return False
    return True


def _iso_date(errors: ErrorList, row: int, column: str, value: str) -> date | None:
    if not _DATE.fullmatch(value):
        errors.add(row, column, value, "required" if not value else "invalid_date")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(row, column, value, "invalid_date")
        return None


class TransferChecker:
    """Checks one transfer-register row; returns the clean tuple or None (errors recorded).

    Clean tuple: (external_id, occurred_at text for PostgreSQL, direction,
    investor_ref, platform slug, platform country, asset, amount text,
    value_byn text). A fast path decides whether the row is good; only a bad
    row is checked again, slowly, cell by cell, to record every error in it.
    """

    def __init__(
        self,
        *,
        positions: list[int],
        period_start: date,
        period_end: date,
        decimal_comma: bool,
        errors: ErrorList,
        width: int | None = None,
    ):
        self.positions = positions
        # Cells a row has: the header's width when given (it may carry an optional column), else the columns'.
        self.width = max(width or 0, max(positions) + 1)
        self.getter = itemgetter(*positions)
        # In UTC: comparing with a ZoneInfo bound costs a zone lookup per row (2.5 µs, measured).
        self.lo, self.hi = (b.astimezone(UTC) for b in minsk_bounds(period_start, period_end))
        self.decimal_comma = decimal_comma
        self.errors = errors
        self._platforms: dict[str, str | None] = {}
        self._countries: dict[str, bool] = {}
        self._assets: dict[str, bool] = {}
        self.fast = self._make_fast()

    def __call__(self, row: int, cells: list[str]) -> tuple | None:
        return self.fast(row, cells)

    def _make_fast(self):
        """The fast path as a closure: locals instead of attribute lookups (about 1 µs a row less)."""
        width, getter, lo, hi = self.width, self.getter, self.lo, self.hi
        platforms, countries, assets = self._platforms, self._countries, self._assets
        decimal_comma, full, strip, parse = self.decimal_comma, self._full, str.strip, _fromisoformat

        def fast(row: int, cells: list[str]) -> tuple | None:
            if len(cells) != width:
                return full(row, cells)
            ext, when_raw, direction, investor, platform_raw, country, asset, amount, value = map(strip, getter(cells))
            try:
                when = parse(when_raw)
            except ValueError:
                return full(row, cells)
            if when.tzinfo is None or not (lo <= when < hi):
                return full(row, cells)
            if not (0 < len(ext) <= 64 and ext.isprintable() and 0 < len(investor) <= 64 and investor.isprintable()):
                return full(row, cells)
            if direction != "OUT" and direction != "IN":
                return full(row, cells)
            slug = platforms.get(platform_raw)
            if not slug or not countries.get(country) or not assets.get(asset):
                return full(row, cells)
            if decimal_comma:
                amount = amount.replace(",", ".")
                value = value.replace(",", ".")
            # Plain digits with at most one dot; the exact limits are checked on the slow path.
            if not (
                amount.isascii()
                and value.isascii()
                and amount.replace(".", "", 1).isdigit()
                and value.replace(".", "", 1).isdigit()
            ):
                return full(row, cells)
            dot = amount.find(".")
            if (dot >= 0 and (len(amount) - dot > 19 or dot > 20)) or (dot < 0 and len(amount) > 20):
                return full(row, cells)
            if not amount.strip("0."):
                return full(row, cells)
            dot = value.find(".")
            if (dot >= 0 and (len(value) - dot > 3 or dot > 16)) or (dot < 0 and len(value) > 16):
                return full(row, cells)
            # PostgreSQL reads these two ISO 8601 shapes as they are; anything else fromisoformat took is normalised.
            n = len(when_raw)
            if not ((n == 20 or n == 25) and when_raw[10] == "T" and when_raw[13] == ":" and when_raw[16] == ":"):
                when_raw = when.isoformat()
            return (ext, when_raw, direction, investor, slug, country, asset, amount, value)

        return fast

    def _full(self, row: int, cells: list[str]) -> tuple | None:
        """The slow path: every cell checked, every error recorded."""
        errors = self.errors
        n = len(cells)
        if n != self.width:
            while n > self.width and not cells[-1].strip():
                cells = cells[:-1]
                n -= 1
            if n != self.width:
                errors.add(row, "", ";".join(cells)[:200], "wrong_cell_count")
                return None
        p = self.positions
        ext, when_raw, direction, investor, platform_raw, country, asset, amount_raw, value_raw = (
            cells[i].strip() for i in p
        )
        before = errors.found
        _text(errors, row, "external_id", ext)
        try:
            when = datetime.fromisoformat(when_raw)
        except ValueError:
            when = None
            errors.add(row, "occurred_at", when_raw, "required" if not when_raw else "invalid_datetime")
        if when is not None:
            if when.tzinfo is None:
                errors.add(row, "occurred_at", when_raw, "datetime_no_offset")
            elif not (self.lo <= when < self.hi):
                errors.add(row, "occurred_at", when_raw, "outside_period")
        if direction not in ("OUT", "IN"):
            errors.add(row, "direction", direction, "invalid_direction")
        _text(errors, row, "investor_ref", investor)
        slug = self._platforms.get(platform_raw, "")
        if slug == "":
            lowered = platform_raw.lower()
            slug = lowered if _SLUG.fullmatch(lowered) else None
            self._platforms[platform_raw] = slug
        if slug is None:
            errors.add(row, "platform", platform_raw, "invalid_platform")
        country_ok = self._countries.get(country)
        if country_ok is None:
            country_ok = self._countries[country] = is_country_code(country)
        if not country_ok:
            errors.add(row, "platform_country", country, "invalid_country")
        asset_ok = self._assets.get(asset)
        if asset_ok is None:
            asset_ok = self._assets[asset] = _ASSET.fullmatch(asset) is not None
        if not asset_ok:
            errors.add(row, "asset", asset, "invalid_asset")
        amount = self._number(row, "amount", amount_raw, places=18, int_digits=20, positive=True)
        value = self._number(row, "value_byn", value_raw, places=2, int_digits=16, positive=False)
        if errors.found != before:
            return None
        return (ext, when.isoformat(), direction, investor, slug, country, asset, amount, value)

    def _number(self, row: int, column: str, raw: str, *, places: int, int_digits: int, positive: bool) -> str | None:
        text = raw.replace(",", ".") if self.decimal_comma else raw
        m = _NUMBER.fullmatch(text)
        errors = self.errors
        if m is None:
            errors.add(row, column, raw, "required" if not raw else "not_a_number")
            return None
        sign, whole, frac = m.groups()
        nonzero = whole.strip("0") or (frac and frac.strip("0"))
        if sign and nonzero:
            errors.add(row, column, raw, "amount_not_positive" if positive else "value_negative")
            return None
        if positive and not nonzero:
            errors.add(row, column, raw, "amount_not_positive")
            return None
        if frac and len(frac) > places:
            errors.add(row, column, raw, "too_many_decimals")
            return None
        if len(whole.lstrip("0")) > int_digits:
            errors.add(row, column, raw, "number_too_large")
            return None
        return text.lstrip("-")


_URL = URLValidator(schemes=["http", "https"])


def _pad(cells: list[str], width: int) -> list[str] | None:
    while len(cells) > width and not cells[-1].strip():
        cells = cells[:-1]
    return cells if len(cells) == width else None


def client_checker(*, positions: list[int], period_start: date, period_end: date, errors: ErrorList) -> Callable:
    seen: dict[str, int] = {}
    width = max(positions) + 1
    kyc = set(KycLevel.values)

    def check(row: int, cells: list[str]) -> dict | None:
        cells = _pad(cells, width)
        if cells is None:
            errors.add(row, "", "", "wrong_cell_count")
            return None
        investor, country, registered, level = (cells[i].strip() for i in positions)
        before = errors.found
        if _text(errors, row, "investor_ref", investor):
            if investor in seen:
                errors.add(row, "investor_ref", investor, "duplicate_investor_ref")
            seen[investor] = row
        if not is_country_code(country):
            errors.add(row, "residency_country", country, "invalid_country")
        registered_on = _iso_date(errors, row, "registered_at", registered)
        if registered_on and registered_on > period_end:
            errors.add(row, "registered_at", registered, "registered_after_period")
        if level not in kyc:
            errors.add(row, "kyc_level", level, "invalid_choice")
        if errors.found != before:
            return None
        return {
            "investor_ref": investor,
            "residency_country": country,
            "registered_at": registered_on,
            "kyc_level": level,
        }

    return check


def profile_checker(*, positions: list[int], period_start: date, period_end: date, errors: ErrorList) -> Callable:
    width = max(positions) + 1
    activities = set(Activity.values)

    def check(row: int, cells: list[str]) -> dict | None:
        cells = _pad(cells, width)
        if cells is None:
            errors.add(row, "", "", "wrong_cell_count")
            return None
        values = dict(zip(COLUMNS[FilingKind.OPERATOR_PROFILE], (cells[i].strip() for i in positions), strict=True))
        before = errors.found
        if not stdnum_unp.is_valid(values["unp"]) or not values["unp"].isdigit():
            errors.add(row, "unp", values["unp"], "invalid_unp" if values["unp"] else "required")
        _text(errors, row, "name", values["name"], limit=255)
        _text(errors, row, "htp_certificate_no", values["htp_certificate_no"])
        valid_until = _iso_date(errors, row, "htp_certificate_valid_until", values["htp_certificate_valid_until"])
        if values["activity"] not in activities:
            errors.add(row, "activity", values["activity"], "invalid_choice")
        for name, limit in (("legal_address", 500), ("aml_officer", 255)):
            if values[name] and not _text(errors, row, name, values[name], limit=limit):
                pass
        if values["website"]:
            try:
                # URLValidator lets control characters (NUL too) through in the path.
                if not values["website"].isprintable():
                    raise ValidationError("control character")
                _URL(values["website"])
            except ValidationError:
                errors.add(row, "website", values["website"], "invalid_url")
        if errors.found != before:
            return None
        values["htp_certificate_valid_until"] = valid_until
        return values

    return check


def decimal_sum(values) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))
