"""How one evidence value reads on a page: money, shares, counts, dates and Minsk times through the
portal's one set of filters (operators/templatetags/portal.py, `figure`), chosen by the evidence key.

Evidence is JSON: money arrives as "253523.34", moments as ISO strings with an offset. Shown as
"253 523,34 BYN", "48,5 %", "31.01.2026", "31.01.2026 14:05" (never the offset).
"""

from operators.templatetags.portal import figure


def evidence_shown(key: str, value) -> str:
    """One scalar evidence value as text for the page (lists and dicts are the caller's business)."""
    return figure(value, key)
