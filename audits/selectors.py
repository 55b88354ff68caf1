"""Reads of the audits app: the auditors' queue, one flag with its history."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from auditlog.models import AuditEvent
from audits.models import ACTIVE_STATUSES, Flag, FlagNote, FlagStatus, NoteKind, OperatorRisk
from audits.services.deadlines import flags_due_filter
from operators.access import Access


def flags_visible(*, access: Access, queryset: QuerySet | None = None) -> QuerySet[Flag]:
    """The one flag visibility rule (DESIGN section 7), for the flag pages, the dossier, the filings
    desk, exports and the API: agencies and the SCC see every flag; operator staff only the flags
    an auditor confirmed on their own operators; anyone else none."""
    queryset = Flag.objects.all() if queryset is None else queryset
    if access.reads_everything:
        return queryset
    if not access.operator_ids:
        return queryset.none()
    return queryset.filter(operator_id__in=access.operator_ids, status=FlagStatus.CONFIRMED)


def flag_list(
    *,
    access: Access,
    status: str = "",
    rule: str = "",
    operator: str = "",
    assignee: AbstractBaseUser | None = None,
    severity: str = "",
    unassigned: bool = False,
    assignee_id: int | None = None,
    due: str = "",
) -> QuerySet[Flag]:
    """Auditors: every flag (cleared ones only when asked by status), riskiest operators first.
    Operator staff: only confirmed flags of their own operators. Anyone else: nothing.
    status "active": open and in review (what the dashboard and the queue count as open); `due`
    ("overdue", "week"): open flags by deadline, as the queue filters them, so its counts lead here."""
    qs = flags_visible(
        access=access, queryset=Flag.objects.select_related("operator", "rule", "assignee", "operator__risk")
    )
    if access.reads_everything:
        if status == "active":
            qs = qs.filter(status__in=ACTIVE_STATUSES)
        else:
            qs = qs.filter(status=status) if status else qs.exclude(status=FlagStatus.CLEARED)
    if severity:
        qs = qs.filter(severity=severity)
    if rule:
        qs = qs.filter(rule__code=rule)
    if operator:
        qs = qs.filter(Q(operator__unp__startswith=operator.strip()) | Q(operator__name__icontains=operator.strip()))
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    if unassigned:
        qs = qs.filter(assignee__isnull=True)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if due in ("overdue", "week"):
        qs = qs.filter(flags_due_filter(due=due, today=timezone.localdate()), status__in=ACTIVE_STATUSES)
    return qs.order_by(F("operator__risk__score").desc(nulls_last=True), "operator__name", "-opened_at", "-id")


def flag_get(*, access: Access, pk: int) -> Flag:
    """One flag the caller may see, else Flag.DoesNotExist (callers answer 404, revealing nothing)."""
    return flags_visible(access=access, queryset=Flag.objects.select_related("operator", "rule", "assignee")).get(pk=pk)


def flag_notes(*, flag: Flag, access: Access) -> QuerySet[FlagNote]:
    """Auditors see notes and answers; operator staff only the answers."""
    qs = flag.notes.select_related("author")
    if not access.reads_everything:
        qs = qs.filter(kind=NoteKind.ANSWER)
    return qs


def flag_history(*, flag: Flag) -> QuerySet[AuditEvent]:
    """The flag's audit events (opened, assigned, decided, cleared ...), oldest first."""
    return AuditEvent.objects.filter(object_type=Flag._meta.label_lower, object_id=str(flag.pk)).order_by("id")


def operator_risk_get(*, operator_id: int) -> OperatorRisk | None:
    """The operator's risk score and the flags that make it (None before the first scan)."""
    return OperatorRisk.objects.filter(operator_id=operator_id).first()


def flags_not_cleared() -> QuerySet[Flag]:
    return Flag.objects.exclude(status=FlagStatus.CLEARED).select_related("operator", "rule").order_by("id")
