"""E-mail nudges for data requests, by the filing reminders' machinery (audits.services.reminders: the same
recipients, the same once-only rule): one when a request falls due within REMINDER_WORKING_DAYS working
days, one when it became overdue; `DataRequest.nudged` remembers the last, so no run sends one twice."""

from datetime import date

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audits.services.reminders import REMINDER_WORKING_DAYS, operator_mail_recipients
from casework.messaging import data_requests_overdue
from casework.models import DataRequest, RequestStatus
from operators.calendar import working_days_before

DUE_SOON, OVERDUE = "due_soon", "overdue"


def _mail(request: DataRequest, kind: str, to: list[str]) -> None:
    due = request.due_date
    if kind == DUE_SOON:
        subject = f"Напоминание: запрос КГК №{request.pk} «{request.subject}» — ответ до {due:%d.%m.%Y}"
        body = (
            f"{request.operator.name} (УНП {request.operator.unp}): ответьте на запрос КГК №{request.pk} "
            f"«{request.subject}» до {due:%d.%m.%Y} в разделе «Сообщения» портала.\n\n"
            f"Reminder: SCC data request no. {request.pk} is due on {due:%d.%m.%Y}."
        )
    else:
        subject = f"Срок ответа на запрос КГК №{request.pk} «{request.subject}» пропущен"
        body = (
            f"{request.operator.name} (УНП {request.operator.unp}): срок ответа на запрос КГК №{request.pk} "
            f"«{request.subject}» ({due:%d.%m.%Y}) прошёл. Ответьте как можно скорее.\n\n"
            f"SCC data request no. {request.pk} was due on {due:%d.%m.%Y} and is unanswered."
        )
    send_mail(subject, body, None, to)


def data_request_nudges(*, today: date | None = None) -> int:
    """The daily job: mark overdue requests, then e-mail each waiting request's operator once per kind."""
    today = today or timezone.localdate()
    data_requests_overdue(today=today)
    sent = 0
    waiting = DataRequest.objects.filter(status__in=(RequestStatus.OPEN, RequestStatus.OVERDUE)).select_related(
        "operator"
    )
    for request in waiting:
        if request.status == RequestStatus.OVERDUE:
            kind = OVERDUE
        elif working_days_before(request.due_date, REMINDER_WORKING_DAYS) <= today <= request.due_date:
            kind = DUE_SOON
        else:
            continue
        if request.nudged == kind or (kind == DUE_SOON and request.nudged == OVERDUE):
            continue
        to = operator_mail_recipients(operator=request.operator)
        if not to:
            continue
        with transaction.atomic():
            # Claim it first: a concurrent run that claims it too updates nothing and sends nothing.
            claimed = DataRequest.objects.filter(pk=request.pk).exclude(nudged=kind).update(nudged=kind)
            if claimed:
                _mail(request, kind, to)
                sent += 1
    return sent
