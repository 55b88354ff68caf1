"""Filing reminders: e-mails to operator staff before a filing is due and after it was missed."""

from datetime import date, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from audits.models import ReminderKind, ReminderSent
from audits.rules.constants import FILED_STATUSES
from operators.calendar import calendar_rules, periods_owed, working_days_before
from operators.labels import choice_label
from operators.models import FilingKind, Operator, OperatorMembership, OperatorStatus, RegistrationFiling

REMINDER_WORKING_DAYS = 5
# On the first run, do not e-mail about periods missed long ago: only the last week.
MISSED_REMINDER_MAX_DAYS = 7


def reminders_send(*, today: date | None = None) -> int:
    """E-mail operator staff 5 working days before a filing is due (until it is filed) and on the
    day after it was missed. Idempotent: each (operator, kind, period, reminder) is sent once
    (ReminderSent); a failed send is forgotten so that the next run retries. Returns e-mails sent."""
    today = today or timezone.localdate()
    rules = calendar_rules()
    covered: dict[tuple[int, str], list[tuple]] = {}
    for f in RegistrationFiling.objects.filter(status__in=FILED_STATUSES).values(
        "operator_id", "kind", "period_start", "period_end"
    ):
        covered.setdefault((f["operator_id"], f["kind"]), []).append((f["period_start"], f["period_end"]))
    sent = set(ReminderSent.objects.values_list("operator_id", "filing_kind", "period_start", "reminder"))
    recipients: dict[int, set[str]] = {}
    for operator_id, email in (
        OperatorMembership.objects.filter(user__is_active=True)
        .exclude(user__email="")
        .values_list("operator_id", "user__email")
    ):
        recipients.setdefault(operator_id, set()).add(email)
    count = 0
    for op in Operator.objects.filter(status=OperatorStatus.ACTIVE):
        to = sorted(recipients.get(op.id, set()) | ({op.email} if op.email else set()))
        if not to:
            continue
        for period in periods_owed(operator=op, today=today, rules=rules):
            spans = covered.get((op.id, period.kind), ())
            if any(s <= period.period_start and e >= period.period_end for s, e in spans):
                continue
            if working_days_before(period.due_date, REMINDER_WORKING_DAYS) <= today <= period.due_date:
                kind = ReminderKind.DUE_SOON
            elif period.due_date < today <= period.due_date + timedelta(days=MISSED_REMINDER_MAX_DAYS):
                kind = ReminderKind.MISSED
            else:
                continue
            if (op.id, period.kind, period.period_start, kind) in sent:
                continue
            try:
                with transaction.atomic():
                    ReminderSent.objects.create(
                        operator=op,
                        filing_kind=period.kind,
                        period_start=period.period_start,
                        reminder=kind,
                        due_date=period.due_date,
                        recipients=to,
                    )
                    _reminder_mail(operator=op, period=period, kind=kind, to=to)
            except IntegrityError:
                continue  # another run sent it
            count += 1
    return count


def _reminder_mail(*, operator: Operator, period, kind: str, to: list[str]) -> None:
    start, end, due = period.period_start, period.period_end, period.due_date
    # The filing kind by its name (Russian first, then the English paragraph), never its code.
    with translation.override("ru"):
        kind_ru = choice_label(FilingKind, period.kind)
    with translation.override("en"):
        kind_en = choice_label(FilingKind, period.kind).lower()
    if kind == ReminderKind.DUE_SOON:
        subject = f"Напоминание: срок подачи отчёта «{kind_ru}» за {start:%m.%Y} — {due:%d.%m.%Y}"
        body = (
            f"{operator.name} (УНП {operator.unp}): отчёт «{kind_ru}» за период "
            f"{start:%d.%m.%Y}–{end:%d.%m.%Y} нужно подать до {due:%d.%m.%Y}.\n\n"
            f"Reminder: the {kind_en} filing for {start:%d.%m.%Y}–{end:%d.%m.%Y} is due on {due:%d.%m.%Y}."
        )
    else:
        subject = f"Срок подачи отчёта «{kind_ru}» за {start:%m.%Y} пропущен"
        body = (
            f"{operator.name} (УНП {operator.unp}): отчёт «{kind_ru}» за период "
            f"{start:%d.%m.%Y}–{end:%d.%m.%Y} не подан в срок ({due:%d.%m.%Y}). "
            f"Подайте его как можно скорее.\n\n"
            f"The {kind_en} filing for {start:%d.%m.%Y}–{end:%d.%m.%Y} was due on {due:%d.%m.%Y} and is missing."
        )
    send_mail(subject, body, None, to)


def operator_mail_recipients(*, operator: Operator) -> list[str]:
    """Whom an operator's reminders go to: its active staff's e-mails and the operator's own (the same
    rule as the filing reminders; the casework's data-request nudges use it too)."""
    staff = (
        OperatorMembership.objects.filter(operator=operator, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    return sorted(set(staff) | ({operator.email} if operator.email else set()))
