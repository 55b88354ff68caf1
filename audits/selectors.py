"""Reads of the audits app: the auditors' queue, one flag with its history."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, Q, QuerySet

from auditlog.models import AuditEvent
from audits.models import Flag, FlagNote, FlagStatus, NoteKind, OperatorRisk
from operators.roles import is_auditor, operator_ids_for

User = AbstractBaseUser | AnonymousUser


def flag_list(
    *, user: User, status: str = "", rule: str = "", operator: str = "", assignee_me: bool = False
) -> QuerySet[Flag]:
    """Auditors: every flag, riskiest operators first. Operator staff: only confirmed flags of
    their own operators. Anyone else: nothing."""
    qs = Flag.objects.select_related("operator", "rule", "assignee", "operator__risk")
    if is_auditor(user):
        qs = qs.filter(status=status) if status else qs.exclude(status=FlagStatus.CLEARED)
    else:
        ids = operator_ids_for(user)
        if not ids:
            return qs.none()
        qs = qs.filter(operator_id__in=ids, status=FlagStatus.CONFIRMED)
    if rule:
        qs = qs.filter(rule__code=rule)
    if operator:
        qs = qs.filter(Q(operator__unp__startswith=operator.strip()) | Q(operator__name__icontains=operator.strip()))
    if assignee_me:
        qs = qs.filter(assignee=user)
    return qs.order_by(F("operator__risk__score").desc(nulls_last=True), "operator__name", "-opened_at", "-id")


def flag_get(*, user: User, pk: int) -> Flag:
    """One flag the user may see, else Flag.DoesNotExist (callers answer 404, revealing nothing)."""
    qs = Flag.objects.select_related("operator", "rule", "assignee")
    if not is_auditor(user):
        qs = qs.filter(operator_id__in=operator_ids_for(user), status=FlagStatus.CONFIRMED)
    return qs.get(pk=pk)


def flag_notes(*, flag: Flag, user: User) -> QuerySet[FlagNote]:
    """Auditors see notes and answers; operator staff only the answers."""
    qs = flag.notes.select_related("author")
    if not is_auditor(user):
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
