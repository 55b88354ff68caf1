"""What audits shows on the filing intake's page, registered in filings.hooks (AuditsConfig.ready).

The filings page (layer 3) does not import audits (layer 5): operator staff's desk there
(periods due soon or missed, confirmed flags awaiting an answer) is provided from here.
"""

from audits.selectors import flag_list
from audits.ui_selectors import filing_timeline
from filings import hooks
from operators.access import Access
from operators.models import Operator


def operator_desk(*, access: Access, operator_ids: list[int]) -> tuple[list, list]:
    """For operator staff of ``operator_ids``: (operator, timeline row) due or missed, and their confirmed flags."""
    calendar = [
        (operator, row)
        for operator in Operator.objects.filter(pk__in=operator_ids).order_by("name")
        for row in filing_timeline(operator=operator)
        if row.state in ("missing", "not_due")
    ]
    return calendar, list(flag_list(access=access)[:50])


def register() -> None:
    hooks.provide_operator_desk(operator_desk)
