"""How one evidence value reads on a page: money, shares, counts, dates and Minsk times through the
portal's one set of filters (operators/templatetags/portal.py), chosen by the evidence key.

Evidence is JSON: money arrives as "253523.34", moments as ISO strings with an offset. Shown as
"253 523,34 BYN", "48,5 %", "31.01.2026", "31.01.2026 14:05" (never the offset).
"""

import re
from decimal import Decimal

from operators.templatetags.portal import day, money, number, share, when

ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
SHARE_KEYS = ("non_return_share", "threshold", "share")
DAY_SUFFIXES = ("_date", "_start", "_end", "_until", "_on", "deadline", "as_of")


def _is_number(value) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | Decimal) or (isinstance(value, str) and bool(NUMERIC.match(value)))


def evidence_shown(key: str, value) -> str:
    """One scalar evidence value as text for the page (lists and dicts are the caller's business)."""
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
