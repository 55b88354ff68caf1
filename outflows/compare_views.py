"""Two runs compared cell by cell (issue 17 item 6): auditors and supervisors, like the run page."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from config.params import id_param
from operators.access import access_of
from outflows.comparison import finished_runs, inputs_difference, runs_compare
from outflows.models import Dimension, OutflowRun, RunStatus


def _run(value: str, default: OutflowRun | None) -> OutflowRun | None:
    if not value:
        return default
    if id_param(value) is None:
        raise Http404
    run = OutflowRun.objects.filter(pk=int(value), status=RunStatus.FINISHED).first()
    if run is None:
        raise Http404
    return run


@login_required
def runs_compare_page(request):
    """Auditors and supervisors: runs A and B (default: the two latest finished) side by side, cell by cell."""
    access_of(request).require_auditor()
    choices = finished_runs()
    b = _run(request.GET.get("b", "")[:12], choices[0] if choices else None)
    a = _run(request.GET.get("a", "")[:12], next((run for run in choices if b is None or run.pk != b.pk), None))
    dimension = request.GET.get("dimension", "") or Dimension.OVERALL
    if dimension not in Dimension.values:
        raise Http404
    changed_only = request.GET.get("changed") == "1"
    rows, inputs = [], None
    if a is not None and b is not None:
        rows = runs_compare(a=a, b=b, dimension=dimension, changed_only=changed_only)
        inputs = inputs_difference(a=a, b=b)
    choices += [run for run in (a, b) if run is not None and run not in choices]  # an older run asked for by id
    return render(
        request,
        "outflows/compare.html",
        {
            "a": a,
            "b": b,
            "choices": choices,
            "dimension": dimension,
            "dimensions": Dimension.choices,
            "changed_only": changed_only,
            "page": Paginator(rows, 100).get_page(request.GET.get("page")),
            "inputs": inputs,
        },
    )
