"""Outflow figures for auditors: stats of a run by dimension, key and cohort, the run itself, exports."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from config.paging import keyset_page
from config.params import id_param
from operators.access import access_of
from outflows import hooks, selectors
from outflows.models import Dimension, Direction, OutflowRun

TRANSFER_FILTERS = (
    "operator",
    "platform",
    "country",
    "investor",
    "direction",
    "since",
    "until",
    "filing",
    "unregistered",
)


def _stats(request):
    run_id = request.GET.get("run", "")
    dimension = request.GET.get("dimension", "") or Dimension.OVERALL
    if dimension not in Dimension.values:
        raise Http404
    try:
        run = selectors.outflow_run_get(run=id_param(run_id))
    except OutflowRun.DoesNotExist as exc:
        raise Http404 from exc
    stats = selectors.outflow_stats(
        run=run,
        dimension=dimension,
        key=request.GET.get("key", "")[:128] or None,
        cohort=request.GET.get("cohort", "")[:7] or None,
    )
    return run, dimension, stats


@login_required
def stats(request):
    """Auditors and supervisors: the rows of a run (latest by default) that a figure is made of."""
    access_of(request).require_auditor()
    run, dimension, rows = _stats(request)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "outflows/stats.html",
        {
            "run": run,
            "page": page,
            "dimension": dimension,
            "dimensions": Dimension.choices,
            # Excess return apart (issue 17 item 2): beside the share, for the keys a return has.
            "show_excess": bool(run and run.variants)
            and dimension in (Dimension.OPERATOR, Dimension.PLATFORM, Dimension.COUNTRY),
            # The keys and cohorts to pick from (a searchable list), not a code to type.
            "keys": selectors.outflow_stat_keys(run=run, dimension=dimension),
            "cohorts": selectors.outflow_stat_cohorts(run=run),
        },
    )


@login_required
def run_detail(request, pk: int):
    """Auditors and supervisors: one run's parameters, input fingerprint and timings."""
    access_of(request).require_auditor()
    try:
        run = selectors.outflow_run_list().get(pk=pk)
    except OutflowRun.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "outflows/run.html", {"run": run, "runs": selectors.outflow_run_list()[:20]})


@login_required
def transfer_list(request):
    """Auditors and supervisors: the transfers a figure or a flag is about (filters from the evidence links)."""
    access = access_of(request)
    access.require_auditor()
    if "flag" in request.GET:  # ?flag=<id>[&figure=<key>]: a flag's rows as its rule selects them (outflows.hooks)
        found = hooks.filters_from(
            "flag", access=access, value=request.GET["flag"][:12], figure=request.GET.get("figure", "")[:64]
        )
        if found is None:
            raise Http404
        return redirect(f"{reverse('outflows:transfers')}?{urlencode(found)}")
    filters = {key: request.GET.get(key, "")[:64] for key in TRANSFER_FILTERS}
    transfers = selectors.transfer_list(access=access, **filters)
    # Keyset pages on (occurred_at, id): a deep page costs what the first does; the total is exact up to
    # config.paging.TOTAL_EXACT_LIMIT rows, else the planner's estimate (no COUNT over millions of rows).
    page = keyset_page(transfers, params=request.GET, keys=("occurred_at", "id"), size=100)
    # The total (and value) of a filtered list, so a figure that links here can be checked against it.
    figures = None
    if page.total.exact and any(filters.values()):
        figures = selectors.transfer_figures_of(page.rows) if page.complete else selectors.transfer_figures(transfers)
    context = {"page": page, "filters": filters, "figures": figures, "directions": Direction.choices}
    return render(request, "outflows/transfers.html", context)
