"""The operator dossier (registry data, filing timeline, flags, risk, outflow) and its export.

A page above the audits app: it shows flags and outflow figures beside the registry data, so
it lives here, not in operators (which may not import audits). Mounted by audits/operator_urls.py
under the `operators:` names it always had.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from audits import ui_selectors
from audits.models import Agency
from operators import selectors
from operators.access import access_of
from operators.models import Operator
from outflows.drill_views import drilldown_url


def _dossier_context(request, operator: Operator) -> dict:
    access = access_of(request)
    auditor = access.is_auditor
    outflow = ui_selectors.operator_outflow(operator=operator)
    return {
        "operator": operator,
        "status_changes": operator.status_changes.select_related("changed_by")[:50],
        "today": timezone.localdate(),
        "timeline": ui_selectors.filing_timeline(operator=operator),
        "flags": ui_selectors.operator_flags(operator=operator, access=access),
        "answers": ui_selectors.operator_answers(operator=operator) if auditor else [],
        "risk": getattr(operator, "risk", None) if auditor else None,
        # Referring the operator (casework: operator_refer) to one of these.
        "agencies": Agency.choices if auditor else [],
        "outflow": outflow,
        "chart": {
            "trend": [
                {
                    "cohort": s.cohort,
                    "share": float(s.non_return_share) if s.non_return_share is not None else None,
                    "url": drilldown_url(run=outflow["run"], dimension=s.dimension, key=s.key, cohort=s.cohort),
                }
                for s in outflow["by_cohort"]
            ]
        },
    }


@login_required
def operator_detail(request, pk: int):
    """The operator dossier. Auditors: any operator, everything. Operator staff: their own only
    (others answer 404), with confirmed flags only."""
    try:
        operator = selectors.operator_get(access=access_of(request), pk=pk)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "operators/operator_detail.html", _dossier_context(request, operator))
