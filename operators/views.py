"""Registry pages. Each view states who may use it. (The operator dossier, which shows flags, is
audits/dossier_views.py.)"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone

from operators import selectors
from operators.access import access_of
from operators.models import Activity, OperatorStatus


@login_required
def home(request):
    """Anyone logged in: auditors land on the dashboard, operator staff on their filings."""
    access = access_of(request)
    if access.is_auditor:
        return redirect("dashboard")
    if access.is_operator_staff:
        return redirect("filings:list")
    return render(request, "home_no_role.html")


def operator_list_query(request) -> dict:
    """The registry page's filters as selectors.operator_list keywords: one reading for the page and
    its export (operators/exports.py)."""
    return {
        "search": request.GET.get("q", "")[:100],
        "status": request.GET.get("status", "")[:16],
        "activity": request.GET.get("activity", "")[:32],
    }


@login_required
def operator_list(request):
    """Auditors and supervisors see the whole registry; operator staff only their own operator."""
    operators = selectors.operator_list(access=access_of(request), **operator_list_query(request))
    page = Paginator(operators, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "operators/operator_list.html",
        {
            "page": page,
            "statuses": OperatorStatus.choices,
            "activities": Activity.choices,
            "today": timezone.localdate(),
        },
    )
