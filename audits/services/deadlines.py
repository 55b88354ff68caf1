"""Review deadlines of flags and the escalation of overdue ones (issue 18, item 1).

Every flag gets a due date when it opens (or opens again): the working days of its severity's
SeverityDeadline (Belarus calendar, operators.calendar) counted from that day. The daily job
`escalations_send` escalates each open flag overdue by more than its severity's
`escalate_after_days` working days to the supervisors (an in-portal notification each and one
e-mail), at level 1, then again at level 2 after as many more working days, and so on. Each
(flag, level) once: FlagEscalation's unique key, whatever the number of runs.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import (
    ACTIVE_STATUSES,
    Flag,
    FlagEscalation,
    Notification,
    NotificationKind,
    Severity,
    SeverityDeadline,
)
from operators.calendar import working_days_after, working_days_between
from operators.roles import SUPERVISORS


@dataclass(frozen=True)
class Deadline:
    working_days: int
    escalate_after_days: int


# Used when a severity has no row (the migration seeds all four; supervisors edit them).
DEFAULT_DEADLINES: dict[str, Deadline] = {
    Severity.CRITICAL: Deadline(3, 1),
    Severity.HIGH: Deadline(10, 3),
    Severity.MEDIUM: Deadline(20, 5),
    Severity.LOW: Deadline(30, 5),
}


def deadlines_current() -> dict[str, Deadline]:
    """Every severity's deadline, read in one query (pass it on when computing many due dates)."""
    rules = {str(k): v for k, v in DEFAULT_DEADLINES.items()}
    for row in SeverityDeadline.objects.only("severity", "working_days", "escalate_after_days"):
        rules[row.severity] = Deadline(row.working_days, row.escalate_after_days)
    return rules


def flag_due_date(*, severity: str, opened_on: date, deadlines: dict[str, Deadline] | None = None) -> date:
    """The due date of a flag of `severity` that opens on `opened_on` (a Minsk date)."""
    rule = (deadlines or deadlines_current()).get(severity, DEFAULT_DEADLINES[Severity.MEDIUM])
    return working_days_after(opened_on, rule.working_days)


def week_end(today: date) -> date:
    """The Sunday of `today`'s week: "due this week" is today up to it."""
    return today + timedelta(days=6 - today.weekday())


def flags_due_filter(*, due: str, today: date, prefix: str = "") -> Q:
    """The queue's deadline filter on open flags: "overdue" (due date passed) or "week" (due from today
    to Sunday); anything else filters nothing. `prefix` is the path to the flag ("flags__" from operators)."""
    if due == "overdue":
        return Q(**{f"{prefix}due_date__lt": today})
    if due == "week":
        return Q(**{f"{prefix}due_date__gte": today, f"{prefix}due_date__lte": week_end(today)})
    return Q()


def escalation_level(*, due_date: date, today: date, escalate_after_days: int) -> tuple[int, int]:
    """(level, working days overdue): level 0 while overdue by at most N working days, 1 when by more
    than N, 2 by more than 2N ... (N = escalate_after_days)."""
    overdue = working_days_between(due_date, today)
    step = max(1, escalate_after_days)
    return (0 if overdue <= step else (overdue - 1) // step), overdue


def supervisors() -> QuerySet:
    """Active supervisors (the group) and superusers: who receives escalations."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=SUPERVISORS) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )


def escalations_send(*, today: date | None = None) -> int:
    """Escalate every open flag overdue by more than its severity's N working days to the supervisors:
    a notification to each, one e-mail to those with an address, an audit event. Idempotent: each
    (flag, level) once (a concurrent run loses on the unique key; a failed e-mail rolls the escalation
    back so that the next run retries). Returns the escalations made."""
    today = today or timezone.localdate()
    deadlines = deadlines_current()
    done = set(FlagEscalation.objects.values_list("flag_id", "level"))
    recipients = list(supervisors())
    emails = sorted({u.email for u in recipients if u.email})
    count = 0
    overdue_flags = (
        Flag.objects.filter(status__in=ACTIVE_STATUSES, due_date__lt=today)
        .select_related("operator", "rule")
        .order_by("due_date", "pk")
    )
    for flag in overdue_flags:
        rule = deadlines.get(flag.severity, DEFAULT_DEADLINES[Severity.MEDIUM])
        level, overdue = escalation_level(
            due_date=flag.due_date, today=today, escalate_after_days=rule.escalate_after_days
        )
        if level == 0 or (flag.pk, level) in done:
            continue
        try:
            with transaction.atomic():
                escalation = FlagEscalation.objects.create(
                    flag=flag, level=level, due_date=flag.due_date, overdue_days=overdue, recipients=emails
                )
                text = _escalation_text(flag=flag, level=level, overdue=overdue)
                Notification.objects.bulk_create(
                    [
                        Notification(
                            recipient=user,
                            kind=NotificationKind.ESCALATION,
                            flag=flag,
                            escalation=escalation,
                            text=text,
                        )
                        for user in recipients
                    ]
                )
                audit_event_record(
                    actor=None,
                    action="flag.escalated",
                    obj=flag,
                    details={
                        "level": level,
                        "due_date": flag.due_date.isoformat(),
                        "overdue_working_days": overdue,
                        "recipients": [u.pk for u in recipients],
                    },
                )
                if emails:
                    send_mail(f"Эскалация: {text}", _escalation_body(flag=flag, text=text), None, emails)
        except IntegrityError:
            continue  # another run escalated it
        count += 1
    return count


def _escalation_text(*, flag: Flag, level: int, overdue: int) -> str:
    return (
        f"нарушение #{flag.pk} ({flag.rule.code}, {flag.operator.name}) просрочено на {overdue} раб. дн. "
        f"(срок {flag.due_date:%d.%m.%Y}), уровень {level}"
    )[:500]


def _escalation_body(*, flag: Flag, text: str) -> str:
    return (
        f"Портал надзора за криптооператорами: {text}.\n"
        f"Оператор: {flag.operator.name} (УНП {flag.operator.unp}); предмет: {flag.subject}.\n"
        f"Нарушение на портале: {reverse('audits:flag_detail', args=[flag.pk])}; "
        f"все уведомления: {reverse('notifications')}."
    )
