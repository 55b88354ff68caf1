"""The drill-down page of a stat cell and its export: the cell's outbounds with what came back to each.

Auditors and supervisors only, as the statistics page (operators.access). The cell is named by
`run` (a finished run; latest without it), `dimension`, `key`, `cohort` ("all" by default) and
`state` ("matured", "pending" or both); the rows are outflows.cells' and their allocation
outflows.drilldown's (recomputed for the pairs of the transfers shown, with the run's as_of and window),
both from the run's source (outflows.drilldown.cell_source: the rows it read, once its registers changed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from auditlog.exports import export_download, export_max_rows
from config.exports import FORMATS, Column
from config.paging import KeysetPage, Total, keyset_page
from config.params import id_param
from operators.access import access_of
from outflows import cells, drilldown, engine, selectors
from outflows.models import Dimension, OutflowRun, OutflowStat

STATES = ("", "matured", "pending")
PAGE_SIZE = 100
# A page of a cell whose rows would be looked for among more index entries than this is read the other way
# (`_sparse_page`, outflows.drilldown.sparse_order).
SPARSE_ENTRIES = drilldown.SPARSE_ENTRIES


def byn(kopecks: int) -> Decimal:
    return Decimal(int(kopecks)).scaleb(-2)


@dataclass(frozen=True)
class Cell:
    """A cell of a finished run as the request names it, and its stored row (None: the run has no such row)."""

    run: OutflowRun
    dimension: str
    key: str
    cohort: str
    state: str
    stat: OutflowStat | None
    inputs: drilldown.InputsCheck
    source: cells.CellSource

    @property
    def params(self) -> dict:
        found = {"run": self.run.pk, "dimension": self.dimension, "key": self.key, "cohort": self.cohort}
        return {**found, "state": self.state} if self.state else found

    def outbounds(self):
        return cells.cell_outbounds(
            run=self.run, dimension=self.dimension, key=self.key, cohort=self.cohort, state=self.state,
            source=self.source,
        )  # fmt: skip


def cell_from(params) -> Cell:
    """The cell a query string names; Http404 for a run that is not finished, an unknown dimension or
    a malformed cohort (a mistyped link, not a server error)."""
    run_id, dimension = params.get("run", ""), params.get("dimension", "") or Dimension.OVERALL
    key = params.get("key", "")[:64] or ("all" if dimension == Dimension.OVERALL else "")
    cohort, state = params.get("cohort", "")[:7] or "all", params.get("state", "")
    if not cells.dimension_known(dimension) or state not in STATES or not key or "\x00" in key:
        raise Http404
    try:
        run = selectors.outflow_run_get(run=id_param(run_id))
        cells.cohort_bounds(cohort)
    except (OutflowRun.DoesNotExist, ValueError) as exc:
        raise Http404 from exc
    if run is None:
        raise Http404
    stat = drilldown.stat_of(run=run, dimension=dimension, key=key, cohort=cohort)
    inputs = drilldown.inputs_check(run)
    return Cell(run, dimension, key, cohort, state, stat, inputs, drilldown.cell_source(run, inputs))


def drilldown_url(*, run: OutflowRun, dimension: str, key: str, cohort: str = "all", state: str = "") -> str:
    """The drill-down page of a cell (the link of every stats row, dashboard figure and dossier chart)."""
    params = {"run": run.pk, "dimension": dimension, "key": key, "cohort": cohort}
    if state:
        params["state"] = state
    return f"{reverse('outflows:drilldown')}?{urlencode(params)}"


def shown_figures(totals: drilldown.CellTotals) -> dict:
    """The shown rows' figures (BYN), matured and pending apart, in the stored row's terms."""
    return {
        "outbound": byn(totals.outbound),
        "returned": byn(totals.returned),
        "unreturned": byn(totals.outbound - totals.returned),
        "count": totals.count,
        "pending_outbound": byn(totals.pending_outbound),
        "pending_returned": byn(totals.pending_returned),
        "pending_count": totals.pending_count,
        "curve": [byn(amount) for amount in totals.returned_within],
    }


def _sparse_page(cell: Cell, transfers, params) -> KeysetPage | None:
    """A page of a sparse cell, from its outbounds' order read once (cached); None for a dense one.

    In (occurred_at, id) order the rows of a key no index narrows (a small platform, a rare asset or
    residency) are looked for among all the others, an index entry and a heap page at a time: 15 s
    for a handful of rows at 10 M transfers (bench/README_drilldown.md). When the run's counts say a
    page would read more than SPARSE_ENTRIES entries so, the cell's order is read once unordered and kept
    (outflows.drilldown.sparse_order) and a page (`part`) reads its rows by id.
    """
    ids = drilldown.sparse_order(
        run=cell.run, stat=cell.stat, outbounds=transfers, page_size=PAGE_SIZE,
        name={**cell.params, "as_read": cell.source.as_read}, entries=SPARSE_ENTRIES,
    )  # fmt: skip
    if ids is None:
        return None
    part = params.get("part", "")
    part = id_param(part) or 0
    part = part if part * PAGE_SIZE < len(ids) else 0
    chosen = ids[part * PAGE_SIZE : (part + 1) * PAGE_SIZE]
    rows = sorted(transfers.filter(pk__in=chosen), key=lambda t: (t.occurred_at, t.pk))
    kept = [(k, v) for k, values in params.lists() if k != "part" for v in values]

    def link(number: int) -> str:
        return "?" + urlencode(kept + ([("part", number)] if number else []))

    more = (part + 1) * PAGE_SIZE < len(ids)
    return KeysetPage(
        rows=rows,
        total=Total(len(ids), exact=True),
        complete=len(ids) <= PAGE_SIZE,
        next_link=link(part + 1) if more else "",
        previous_link=link(part - 1) if part else "",
        first_link=link(0) if part > 1 else "",
    )


@login_required
def drilldown_page(request):
    """Auditors and supervisors: the outbounds of one stat cell, each with its returned and unreturned
    amount, its state and when its return window closes; the stored figures beside them."""
    access_of(request).require_auditor()
    cell = cell_from(request.GET)
    transfers = cell.outbounds().select_related("operator", "platform")
    page = _sparse_page(cell, transfers, request.GET)
    if page is None:
        page = keyset_page(transfers, params=request.GET, keys=("occurred_at", "id"), size=PAGE_SIZE)
    rows = drilldown.allocate(cell.run, page.rows, source=cell.source)
    inputs = cell.inputs
    shown = drilldown.CellTotals()
    for _transfer, allocation in rows:
        shown.add(allocation)
    # Every outbound of the cell on this one page: the stored row is checked against them here.
    whole = page.complete and not cell.state and cell.stat is not None
    return render(
        request,
        "outflows/drilldown.html",
        {
            "cell": cell,
            "run": cell.run,
            "stat": cell.stat,
            "dimension_label": dict(Dimension.choices).get(cell.dimension, cell.dimension),
            "page": page,
            "rows": [
                (
                    t,
                    a,
                    byn(a.value),
                    byn(a.returned),
                    byn(a.unreturned),
                    list(zip(engine.CURVE_DAYS, map(byn, a.returned_within), strict=True)),
                )
                for t, a in rows
            ],
            "curve_days": engine.CURVE_DAYS,
            "stored_curve": cell.stat.returned_curve if cell.stat is not None else [],
            "shown": shown_figures(shown),
            "checked": shown.equals(cell.stat) if whole else None,
            "inputs": inputs,
            "as_read": cell.source.as_read,
            "states": (("", _("все")), ("matured", _("созревшие")), ("pending", _("не созревшие"))),
            "base_query": urlencode({k: v for k, v in cell.params.items() if k != "state"}),
            "export_query": urlencode(cell.params),
        },
    )


EXPORT_COLUMNS = (
    Column(_("Дата и время (Минск)"), width=20),
    Column(_("УНП оператора"), width=12),
    Column(_("Оператор"), width=30),
    Column(_("Номер перевода"), width=18),
    Column(_("Инвестор"), width=18),
    Column(_("Платформа"), width=16),
    Column(_("Страна платформы"), width=10),
    Column(_("Сумма, BYN"), width=16, places=2),
    Column(_("Вернулось, BYN"), width=16, places=2),
    Column(_("Не вернулось, BYN"), width=16, places=2),
    Column(_("Созрел"), width=8),
    Column(_("Окно возврата закрывается (Минск)"), width=20),
    Column(_("Строка заменённого отчёта"), width=10),
    # The return curve, engine.CURVE_DAYS (a test pins the two together).
    Column(_("Вернулось за 30 дн., BYN"), width=14, places=2),
    Column(_("Вернулось за 90 дн., BYN"), width=14, places=2),
    Column(_("Вернулось за 180 дн., BYN"), width=14, places=2),
    Column(_("Вернулось за 365 дн., BYN"), width=14, places=2),
)


class CellRows:
    """The cell's outbounds with their allocation for an export: counted up to the cap, read in chunks."""

    def __init__(self, cell: Cell, cap: int):
        self.cell, self.cap = cell, cap
        self._size = cell.outbounds().order_by().values("pk")[: cap + 1].count()

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        c = self.cell
        rows = drilldown.cell_rows(
            run=c.run, dimension=c.dimension, key=c.key, cohort=c.cohort, state=c.state, source=c.source
        )
        for t, a in rows:
            yield (
                t.occurred_at,
                t.operator.unp,
                t.operator.name,
                t.external_id,
                t.investor_ref,
                t.platform.name,
                t.platform.country,
                byn(a.value),
                byn(a.returned),
                byn(a.unreturned),
                a.matured,
                a.window_closes,
                getattr(t, "archived", False),  # a row of the run's source kept in the archive since
                *(byn(v) for v in a.returned_within),
            )


@login_required
def drilldown_export(request, fmt: str):
    """Auditors and supervisors: every outbound of the cell with its allocation, CSV or XLSX; logged."""
    access_of(request).require_auditor()
    if fmt not in FORMATS:
        raise Http404
    cell = cell_from(request.GET)
    return export_download(
        request,
        fmt=fmt,
        action="export.outflow_drilldown",
        columns=EXPORT_COLUMNS,
        source=CellRows(cell, export_max_rows(fmt)),
        filename=f"outflow-cell-run{cell.run.pk}-{cell.dimension}-{cell.key}-{cell.cohort}"[:120],
        sheet=_("Переводы ячейки"),
        filters={k: str(v) for k, v in cell.params.items()},
        obj=cell.run,
        back=f"{reverse('outflows:drilldown')}?{urlencode(cell.params)}",
    )
