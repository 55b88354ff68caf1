"""Registry pages. Each view states who may use it."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from operators import selectors
from operators.models import Activity, Operator, OperatorStatus
from operators.roles import is_auditor, operator_ids_for


@login_required
def home(request):
    """Anyone logged in: auditors land on the registry, operator staff on their operator."""
    if is_auditor(request.user):
        return redirect("operators:list")
    ids = operator_ids_for(request.user)
    if ids:
        return redirect("operators:detail", pk=ids[0])
    return render(request, "home_no_role.html")


@login_required
def operator_list(request):
    """Auditors and supervisors see the whole registry; operator staff only their own operator."""
    operators = selectors.operator_list(
        user=request.user,
        search=request.GET.get("q", "")[:100],
        status=request.GET.get("status", "")[:16],
        activity=request.GET.get("activity", "")[:32],
    )
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


@login_required
def operator_detail(request, pk: int):
    """Auditors: any operator. Operator staff: their own only (others answer 404)."""
    try:
        operator = selectors.operator_get(user=request.user, pk=pk)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "operators/operator_detail.html",
        {
            "operator": operator,
            "status_changes": operator.status_changes.select_related("changed_by")[:50],
            "today": timezone.localdate(),
        },
    )
