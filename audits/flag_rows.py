"""``?flag=<id>[&figure=<key>]`` on the transfers page (outflows.hooks): the rows of a flag's figure.

The filters come from the flag's rule (audits.rules.rows), the same function that wrote the
selectors into its evidence; a flag the caller may not see is answered as unknown.
"""

from audits.models import Flag
from audits.rules.rows import rows_of
from audits.selectors import flag_get
from config.params import id_param
from operators.access import Access
from outflows import hooks

# The figure a bare ?flag=<id> opens: the rule's row count.
DEFAULT_FIGURES = ("transfer_count", "outbound_count")


def flag_transfer_filters(*, access: Access, value: str, figure: str = "") -> dict | None:
    """The transfers page's filters for one figure of a flag, or None (no such flag, figure or transfers list)."""
    if id_param(value) is None:
        return None
    try:
        flag = flag_get(access=access, pk=int(value))
    except Flag.DoesNotExist:
        return None
    rows = rows_of(flag.rule.code, flag.evidence or {}, flag.operator.unp)
    keys = (figure,) if figure else DEFAULT_FIGURES
    selector = next((rows[key] for key in keys if key in rows), None)
    if not isinstance(selector, dict) or selector.get("list") != "transfers":
        return None
    return dict(selector.get("filters") or {})


def register() -> None:
    hooks.provide_filter_source("flag", flag_transfer_filters)
