"""Exports of the outflow pages: the transfers list and the stats of a run, with the page's filters.

Auditors and supervisors only (as the pages); the rows are the pages' selectors' (transfers through
outflows.selectors.transfers_visible). Written by auditlog.exports.export_download: CSV in the
reader's language, XLSX with typed cells, one audit event per download, a cap on the row count.
"""

from django.contrib.auth.decorators import login_required
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from auditlog.exports import export_download
from config.exports import Column
from operators.access import access_of
from operators.labels import country_name
from outflows import selectors, views
from outflows.models import CrossBorderTransfer, Dimension, OutflowStat

TRANSFER_COLUMNS = (
    Column(_("Дата и время (Минск)"), width=20),
    Column(_("УНП оператора"), width=12),
    Column(_("Оператор"), width=30),
    Column(_("Номер перевода"), width=18),
    Column(_("Направление"), width=12),
    Column(_("Инвестор"), width=18),
    Column(_("Платформа"), width=16),
    Column(_("Страна платформы"), width=10),
    Column(_("Актив"), width=8),
    Column(_("Количество"), width=18),
    Column(_("Сумма, BYN"), width=16, places=2),
    Column(_("Отчёт №"), width=10),
)

STAT_COLUMNS = (
    Column(_("Разрез"), width=14),
    Column(_("Ключ"), width=20),
    Column(_("Когорта"), width=10),
    Column(_("Выведено, BYN"), width=16, places=2),
    Column(_("Вернулось, BYN"), width=16, places=2),
    Column(_("Не вернулось, BYN"), width=16, places=2),
    Column(_("Доля невозврата, %"), width=12, percent=True),
    Column(_("Не созрело: выведено, BYN"), width=18, places=2),
    Column(_("Не созрело: вернулось, BYN"), width=18, places=2),
    Column(_("Переводов"), width=12),
)


def _transfer_row(t: CrossBorderTransfer) -> tuple:
    return (
        t.occurred_at,
        t.operator.unp,
        t.operator.name,
        t.external_id,
        t.get_direction_display(),
        t.investor_ref,
        t.platform.name,
        country_name(t.platform.country),
        t.asset,
        t.amount,
        t.value_byn,
        t.filing_id,
    )


def _stat_row(s: OutflowStat) -> tuple:
    return (
        Dimension(s.dimension).label,
        s.key,
        s.cohort,
        s.outbound_value_byn,
        s.returned_value_byn,
        s.unreturned_value_byn,
        s.non_return_share,
        s.pending_outbound_value_byn,
        s.pending_returned_value_byn,
        s.outbound_count,
    )


def _back(request, name: str) -> str:
    query = request.GET.urlencode()
    return reverse(name) + (f"?{query}" if query else "")


@login_required
def transfers_export(request, fmt: str):
    """Auditors and supervisors: every transfer of the list's selection (its filters), CSV or XLSX; logged."""
    access = access_of(request)
    access.require_auditor()
    filters = {key: request.GET.get(key, "")[:64] for key in views.TRANSFER_FILTERS}
    transfers = selectors.transfer_list(access=access, **filters)
    return export_download(
        request,
        fmt=fmt,
        action="export.transfers",
        columns=TRANSFER_COLUMNS,
        source=transfers,
        row=_transfer_row,
        filename=f"transfers-{timezone.localdate():%Y-%m-%d}",
        sheet=_("Переводы"),
        filters=filters,
        back=_back(request, "outflows:transfers"),
    )


@login_required
def stats_export(request, fmt: str):
    """Auditors and supervisors: the stats rows the page shows (run, dimension, key, cohort); logged."""
    access_of(request).require_auditor()
    run, dimension, rows = views._stats(request)
    return export_download(
        request,
        fmt=fmt,
        action="export.outflow_stats",
        columns=STAT_COLUMNS,
        source=rows,
        row=_stat_row,
        filename=f"outflow-stats-run{run.pk if run else 0}-{dimension}",
        sheet=_("Невозврат"),
        filters={key: request.GET.get(key, "")[:64] for key in ("run", "dimension", "key", "cohort")},
        obj=run,
        back=_back(request, "outflows:stats"),
    )
