"""Demo data of the casework (generate_demo_data runs it through audits.demo_referral.demo_steps): an open
data request from the demo auditor to the demo operator's company, with a notice before it."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from casework.messaging import message_post
from casework.models import DataRequest, MessageCategory, RequestStatus
from operators.models import OperatorMembership


def demo_data_request() -> str | None:
    users = get_user_model().objects
    auditor, staff = users.filter(username="auditor").first(), users.filter(username="operator").first()
    membership = OperatorMembership.objects.filter(user=staff).select_related("operator").first() if staff else None
    if auditor is None or membership is None:
        return None
    operator = membership.operator
    if DataRequest.objects.filter(operator=operator, status=RequestStatus.OPEN).exists():
        return None
    message_post(
        operator=operator,
        author=auditor,
        category=MessageCategory.NOTICE,
        text="С 1-го числа следующего месяца реестр переводов принимается только по новой форме (см. образцы).",
    )
    request = message_post(
        operator=operator,
        author=auditor,
        category=MessageCategory.DATA_REQUEST,
        subject="Выписка по счёту для вывода средств",
        text="Представьте выписку по расчётному счёту за прошлый месяц и пояснение к крупным выводам средств.",
        due_date=timezone.localdate() + timedelta(days=10),
    ).request
    return f"Data request #{request.pk} to {operator.unp} open until {request.due_date:%d.%m.%Y}."
