"""What the casework adds to the SCC's notifications page (audits.notifications extension point) and to the
upload form's corrections (filings.corrections): answers from operators and overdue data requests of the
requests the user sent; the operator's data requests a correction may cite."""

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from audits.notifications import InboxSource, inbox_source_register
from casework.models import DataRequest, RequestStatus
from filings.corrections import provide_data_requests


def _mine(user: AbstractBaseUser, status: str):
    return DataRequest.objects.filter(created_by=user, status=status).select_related("operator").order_by("due_date")


def answered(*, user: AbstractBaseUser) -> list[DataRequest]:
    return list(_mine(user, RequestStatus.ANSWERED)[:50])


def answered_count(*, user: AbstractBaseUser) -> int:
    return _mine(user, RequestStatus.ANSWERED).count()


def overdue(*, user: AbstractBaseUser) -> list[DataRequest]:
    return list(_mine(user, RequestStatus.OVERDUE)[:50])


def overdue_count(*, user: AbstractBaseUser) -> int:
    return _mine(user, RequestStatus.OVERDUE).count()


def citable(*, operator_id: int) -> list[tuple[int, str]]:
    requests = DataRequest.objects.filter(operator_id=operator_id).exclude(status=RequestStatus.CLOSED)
    return [(r.pk, f"№{r.pk}: {r.subject}") for r in requests.order_by("-id")[:50]]


def register() -> None:
    inbox_source_register(
        InboxSource(
            key="request-answers",
            title=_("Ответы операторов на запросы"),
            template="casework/_inbox_requests.html",
            items=answered,
            count=answered_count,
        )
    )
    inbox_source_register(
        InboxSource(
            key="requests-overdue",
            title=_("Просроченные запросы данных"),
            template="casework/_inbox_requests.html",
            items=overdue,
            count=overdue_count,
        )
    )
    provide_data_requests(citable)
