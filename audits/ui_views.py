"""Auditors' pages: dashboard and flagged-operator queue, with exports. Auditors and supervisors only."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from audits import ui_selectors
from audits.models import FlagStatus, Severity
from operators.access import access_of
from operators.models import Activity, OperatorStatus
from outflows.drill_views import drilldown_url

QUEUE_FILTERS = ("q", "rule", "severity", "status", "assignee", "activity", "operator_status", "due")


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@login_required
def dashboard(request):
    """Auditors and supervisors: the headline non-return share, its trend and curve, flags, overdue filings."""
    access_of(request).require_auditor()
    board = ui_selectors.dashboard_figures()
    chart = {
        "trend": [
            {
                "cohort": s.cohort,
                "share": float(s.non_return_share) if s.non_return_share is not None else None,
                "url": drilldown_url(run=board.run, dimension=s.dimension, key=s.key, cohort=s.cohort),
            }
            for s in board.trend
        ],
        "curve": [
            {
                "cohort": row["cohort"],
                "url": drilldown_url(run=board.run, dimension="overall", key="all", cohort=row["cohort"]),
                **{str(d): (float(v) if v is not None else None) for d, v in row["returned_within"].items()},
            }
            for row in board.curve
        ],
    }
    return render(request, "audits/dashboard.html", {"board": board, "chart": chart})


def _queue_params(request) -> dict:
    return {key: request.GET.get(key, "")[:100] for key in QUEUE_FILTERS}


def _queue(request, params: dict):
    return ui_selectors.operator_queue(
        user=request.user,
        search=params["q"],
        rule=params["rule"],
        severity=params["severity"],
        status=params["status"],
        assignee=params["assignee"],
        activity=params["activity"],
        operator_status=params["operator_status"],
        due=params["due"],
    )


@login_required
def queue(request):
    """Auditors and supervisors: operators with open flags, riskiest first, filtered and paged."""
    access_of(request).require_auditor()
    params = _queue_params(request)
    page = Paginator(_queue(request, params), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "audits/queue.html",
        {
            "page": page,
            "params": params,
            "rules": ui_selectors.rules_for_filters(),
            "severities": Severity.choices,
            "statuses": FlagStatus.choices,
            "activities": Activity.choices,
            "operator_statuses": OperatorStatus.choices,
            "today": timezone.localdate(),
        },
    )
