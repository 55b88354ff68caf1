"""Formatting for the portal's pages: money and shares the way a Russian reader expects."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.translation import get_language

register = template.Library()

NBSP = "\u00a0"


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
    if value is None or value == "":
        return "—"
    amount = Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    whole, fraction = f"{abs(amount):.2f}".split(".")
    if (get_language() or "ru").startswith("en"):
        text = f"{_group_thousands(whole, ',')}.{fraction}"
    else:
        text = f"{_group_thousands(whole, NBSP)},{fraction}"
    return f"{sign}{text}{NBSP}{currency}" if currency else f"{sign}{text}"


@register.filter
def share(value) -> str:
    """0.4567 -> '45,7 %' (Russian) / '45.7%' (English); None -> '—'."""
    if value is None or value == "":
        return "—"
    percent = (Decimal(value) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if (get_language() or "ru").startswith("en"):
        return f"{percent}%"
    return f"{str(percent).replace('.', ',')}{NBSP}%"
