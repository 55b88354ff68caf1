"""Exports of the audit pages: the flag list, the queue and the operator dossier, with the pages' filters.

Each is allowed to whom its page is: the flag list to auditors (every flag) and operator staff
(their operators' confirmed flags, through audits.selectors.flags_visible); the queue and the
dossier to auditors and supervisors. Written by auditlog.exports.export_download (CSV in the
reader's language, XLSX with typed cells, one audit event per download, a cap on the rows).
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from auditlog.exports import export_download
from audits import selectors, ui_selectors, ui_views, views
from audits.models import Flag
from audits.subjects import flag_subject
from config.exports import Column
from operators import selectors as operator_selectors
from operators.access import access_of
from operators.models import ForeignPlatform, Operator

FLAG_COLUMNS = (
    Column(_("Нарушение №"), width=12),
    Column(_("УНП оператора"), width=12),
    Column(_("Оператор"), width=30),
    Column(_("Риск"), width=8, places=2),
    Column(_("Правило"), width=30),
    Column(_("Код правила"), width=22),  # the machine code (DESIGN section 11: exports' machine columns)
    Column(_("Предмет"), width=40),
    Column(_("Важность"), width=12),
    Column(_("Статус"), width=14),
    Column(_("Исполнитель"), width=18),
    Column(_("Открыт"), width=20),
)
STAFF_HIDDEN = (3, 9)  # risk and assignee: auditors' columns
STAFF_FLAG_COLUMNS = tuple(c for i, c in enumerate(FLAG_COLUMNS) if i not in STAFF_HIDDEN)

QUEUE_COLUMNS = (
    Column(_("Риск"), width=8, places=2),
    Column(_("УНП оператора"), width=12),
    Column(_("Оператор"), width=30),
    Column(_("Вид деятельности"), width=24),
    Column(_("Статус оператора"), width=16),
    Column(_("Нарушений"), width=11),
    Column(_("Критических"), width=11),
    Column(_("Высоких"), width=11),
    Column(_("Последнее нарушение"), width=20),
)

DOSSIER_COLUMNS = (
    Column(_("Раздел"), width=18),
    Column(_("Показатель"), width=40),
    Column(_("Значение"), width=40),
    Column(_("Дата"), width=20),
)
REGISTRY_FIELDS = (
    "unp",
    "name",
    "activity",
    "status",
    "htp_certificate_no",
    "htp_certificate_valid_until",
    "htp_registered_on",
    "legal_address",
)
TIMELINE_STATES = {
    "on_time": _("в срок"),
    "late": _("с опозданием"),
    "not_due": _("срок не наступил"),
    "missing": _("не подан"),
}


def _back(request, name: str, *args) -> str:
    query = request.GET.urlencode()
    return reverse(name, args=args) + (f"?{query}" if query else "")


def _risk(operator: Operator):
    risk = getattr(operator, "risk", None)
    return risk.score if risk is not None else None


def _platform_names() -> dict[str, str]:
    """slug -> display name of every platform (a few hundred rows), for the subjects of a streamed export."""
    return dict(ForeignPlatform.objects.values_list("slug", "name"))


def _flag_row(flag: Flag, names: dict[str, str] | None = None) -> tuple:
    return (
        flag.pk,
        flag.operator.unp,
        flag.operator.name,
        _risk(flag.operator),
        flag.rule.label,
        flag.rule.code,
        flag_subject(flag, platform_names=names),
        flag.get_severity_display(),
        flag.get_status_display(),
        str(flag.assignee) if flag.assignee_id else "",
        flag.opened_at,
    )


def _staff_flag_row(flag: Flag, names: dict[str, str] | None = None) -> tuple:
    return tuple(v for i, v in enumerate(_flag_row(flag, names)) if i not in STAFF_HIDDEN)


@login_required
def flag_list_export(request, fmt: str):
    """Auditors: the flags of the list's filters; operator staff: their confirmed flags. CSV/XLSX; logged."""
    access = access_of(request)
    if not (access.is_auditor or access.is_operator_staff):
        raise Http404
    filters = {key: request.GET.get(key, "")[:100] for key in views.FLAG_LIST_PARAMETERS}
    flags = selectors.flag_list(access=access, **views.flag_list_query(request))
    auditor = access.is_auditor
    names = _platform_names()
    row = _flag_row if auditor else _staff_flag_row
    return export_download(
        request,
        fmt=fmt,
        action="export.flags",
        columns=FLAG_COLUMNS if auditor else STAFF_FLAG_COLUMNS,
        source=flags,
        row=lambda flag: row(flag, names),
        filename=f"flags-{timezone.localdate():%Y-%m-%d}",
        sheet=_("Нарушения"),
        filters=filters,
        back=_back(request, "audits:flag_list"),
    )


def _queue_row(op: Operator) -> tuple:
    return (
        _risk(op),
        op.unp,
        op.name,
        op.get_activity_display(),
        op.get_status_display(),
        op.matching_flags,
        op.critical_flags,
        op.high_flags,
        op.last_flag_at,
    )


@login_required
def queue_export(request, fmt: str):
    """Auditors and supervisors: every operator of the queue's filters, CSV or XLSX; logged."""
    access_of(request).require_auditor()
    params = ui_views._queue_params(request)
    return export_download(
        request,
        fmt=fmt,
        action="export.queue",
        columns=QUEUE_COLUMNS,
        source=ui_views._queue(request, params),
        row=_queue_row,
        filename=f"flagged-operators-{timezone.localdate():%Y-%m-%d}",
        sheet=_("Очередь проверки"),
        filters=params,
        back=_back(request, "queue"),
    )


def _dossier_rows(request, operator: Operator) -> list[tuple]:
    access = access_of(request)
    registry = _("Реестр")
    rows = []
    for name in REGISTRY_FIELDS:
        field = Operator._meta.get_field(name)
        value = getattr(operator, name)
        display = getattr(operator, f"get_{name}_display", None)
        rows.append((registry, str(field.verbose_name), display() if display else value, None))
    risk = getattr(operator, "risk", None)
    if risk is not None:
        rows.append((_("Риск"), _("Оценка риска"), risk.score, getattr(risk, "computed_at", None)))
    for t in ui_selectors.filing_timeline(operator=operator):
        item = f"{t.kind_label} {t.period_start:%d.%m.%Y}–{t.period_end:%d.%m.%Y}"
        state = str(TIMELINE_STATES.get(t.state, t.state))
        rows.append((_("Отчётность"), item, state, t.accepted_at or t.due_date))
    names = _platform_names()
    for f in ui_selectors.operator_flags(operator=operator, access=access):
        item = f"№{f.pk} {f.rule.label}: {flag_subject(f, platform_names=names)}"
        rows.append((_("Нарушение"), item, f.get_status_display(), f.opened_at))
    outflow = ui_selectors.operator_outflow(operator=operator)
    total = outflow["total"]
    if total is not None:
        share = _("Доля невозврата, %")
        rows.append((_("Невозврат"), share, total.non_return_share * 100 if total.non_return_share else None, None))
        rows.append((_("Невозврат"), _("Выведено, BYN"), total.outbound_value_byn, None))
        rows.append((_("Невозврат"), _("Не вернулось, BYN"), total.unreturned_value_byn, None))
    for d in outflow["destinations"]:
        item = f"{d['platform__name'] or d['platform__slug']} ({d['platform__country']})"
        rows.append((_("Куда выведено, BYN"), item, d["value"], None))
    return rows


@login_required
def dossier_export(request, pk: int, fmt: str):
    """Auditors and supervisors: the dossier (registry data, risk, timeline, flags, outflow) as CSV/XLSX; logged."""
    access = access_of(request)
    access.require_auditor()
    try:
        operator = operator_selectors.operator_get(access=access, pk=pk)
    except Operator.DoesNotExist as exc:
        raise Http404 from exc
    return export_download(
        request,
        fmt=fmt,
        action="export.dossier",
        columns=DOSSIER_COLUMNS,
        source=_dossier_rows(request, operator),
        filename=f"dossier-{operator.unp}",
        sheet=_("Досье"),
        obj=operator,
        back=reverse("operators:detail", args=[operator.pk]),
    )
