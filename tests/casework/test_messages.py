"""Operators' threads (issue 18 item 3): data requests with due date and status, answers with attachments,
read receipts, broadcasts, links; operator staff see only their own operator's threads, requests and
attachments (404 otherwise), every write refused outside the service's rules."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from auditlog.models import AuditEvent
from audits.notifications import inbox_sources
from casework import messaging
from casework.models import DataRequest, Message, MessageRead, RequestStatus
from casework.nudges import data_request_nudges
from filings.corrections import data_request_choices
from tests.audits import helpers as h
from tests.casework import helpers as ch

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    a, b = h.operator(activity="exchange"), h.operator(activity="miner")
    return {
        "a": a,
        "b": b,
        "auditor": h.user("aud", group="auditors"),
        "staff_a": h.user("staff_a", operator=a),
        "staff_b": h.user("staff_b", operator=b),
        "nobody": h.user("nobody"),
    }


def _request(world, due=None) -> DataRequest:
    message = messaging.message_post(
        operator=world["a"],
        author=world["auditor"],
        text="Представьте выписку по счёту за март.",
        category="data_request",
        subject="Выписка за март",
        due_date=due or timezone.localdate() + timedelta(days=5),
    )
    return message.request


def test_data_request_answer_with_attachment_then_closed(world):
    request = _request(world)
    assert (request.status, request.subject) == (RequestStatus.OPEN, "Выписка за март")
    answer = messaging.message_post(
        operator=world["a"],
        author=world["staff_a"],
        text="Выписка во вложении.",
        category="clarification",
        request=request,
        attachments=[SimpleUploadedFile("выписка март.pdf", b"%PDF-1.4 data")],
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.ANSWERED
    assert answer.category == "data_request"
    assert not answer.from_scc
    [attachment] = answer.attachments.all()
    assert attachment.original_name == "выписка март.pdf"
    assert "выписка" not in attachment.file.name  # a random name on disk
    closed = messaging.data_request_close(request=request, actor=world["auditor"])
    assert closed.status == RequestStatus.CLOSED
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("message.post") == 2
    assert "data_request.close" in actions


def test_rules_of_writing(world):
    with pytest.raises(PermissionDenied):  # another operator's thread
        messaging.message_post(operator=world["b"], author=world["staff_a"], text="x", category="technical")
    with pytest.raises(PermissionDenied):
        messaging.message_post(operator=world["a"], author=world["nobody"], text="x", category="technical")
    with pytest.raises(messaging.MessageError, match="clarifications"):  # staff cannot send notices
        messaging.message_post(operator=world["a"], author=world["staff_a"], text="x", category="notice")
    with pytest.raises(messaging.MessageError, match="due date"):
        messaging.message_post(operator=world["a"], author=world["auditor"], text="x", category="data_request")
    with pytest.raises(messaging.MessageError, match="not accepted"):
        messaging.message_post(
            operator=world["a"],
            author=world["staff_a"],
            text="x",
            category="technical",
            attachments=[SimpleUploadedFile("run.exe", b"MZ")],
        )
    with pytest.raises(PermissionDenied):
        messaging.data_request_close(request=_request(world), actor=world["staff_a"])
    with pytest.raises(PermissionDenied):
        messaging.broadcast_send(author=world["staff_a"], text="x")


def test_overdue_read_receipts_and_broadcast(world):
    request = _request(world, due=date(2025, 1, 10))
    assert messaging.data_requests_overdue(today=date(2025, 1, 11)) == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.OVERDUE
    assert messaging.thread_read(operator=world["a"], user=world["staff_a"]) == 1
    assert messaging.thread_read(operator=world["a"], user=world["staff_a"]) == 0
    assert MessageRead.objects.get().user == world["staff_a"]
    assert messaging.broadcast_send(author=world["auditor"], text="Новые формы с 1 июля.", activity="miner") == 1
    assert Message.objects.filter(category="notice").get().operator == world["b"]
    assert messaging.broadcast_send(author=world["auditor"], text="Всем.") == 2


def test_scc_notifications_and_correction_citations(world):
    request = _request(world, due=date(2025, 1, 10))
    assert data_request_choices(operator_id=world["a"].pk) == [(request.pk, f"№{request.pk}: Выписка за март")]
    assert data_request_choices(operator_id=world["b"].pk) == []
    messaging.data_requests_overdue(today=date(2025, 1, 11))
    counts = {s.key: s.count(user=world["auditor"]) for s in inbox_sources()}
    assert counts["requests-overdue"] == 1
    assert counts["request-answers"] == 0


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_staff_see_only_their_own_thread(world):
    request = _request(world)
    answer = messaging.message_post(
        operator=world["a"],
        author=world["staff_a"],
        text="Ответ",
        category="clarification",
        request=request,
        attachments=[SimpleUploadedFile("a.pdf", b"%PDF")],
    )
    attachment = answer.attachments.get()
    own, other = _client(world["staff_a"]), _client(world["staff_b"])
    thread_a, thread_b = f"/casework/messages/{world['a'].pk}/", f"/casework/messages/{world['b'].pk}/"
    assert own.get("/casework/messages/")["Location"] == thread_a
    page = own.get(thread_a)
    assert page.status_code == 200
    assert "Выписка за март" in page.content.decode()
    assert own.get(thread_b).status_code == 404
    assert own.get(f"/casework/attachments/{attachment.pk}/").status_code == 200
    assert other.get(thread_a).status_code == 404
    assert other.get(f"/casework/attachments/{attachment.pk}/").status_code == 404
    assert other.post(f"/casework/requests/{request.pk}/close/").status_code == 404
    assert own.post(f"/casework/requests/{request.pk}/close/").status_code == 404
    assert own.get("/casework/messages/broadcast/").status_code == 404
    assert "Выписка за март" not in other.get("/casework/messages/", follow=True).content.decode()
    nobody = _client(world["nobody"])
    assert nobody.get(thread_a).status_code == 404
    assert nobody.get(f"/casework/attachments/{attachment.pk}/").status_code == 404
    assert Client().get(thread_a).status_code == 302
    scc = _client(world["auditor"])
    listing = scc.get("/casework/messages/").content.decode()
    assert f'data-operator="{world["a"].pk}"' in listing
    assert f'data-operator="{world["b"].pk}"' in listing
    assert scc.get(thread_a).status_code == 200
    assert scc.post(f"/casework/requests/{request.pk}/close/").status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.CLOSED


def test_scc_sends_a_data_request_from_the_page_and_staff_answer(world):
    scc = _client(world["auditor"])
    url = f"/casework/messages/{world['a'].pk}/"
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = scc.post(
        url, {"category": "data_request", "subject": "Реестр клиентов", "due_date": due, "text": "Пришлите реестр."}
    )
    assert response.status_code == 302
    request = DataRequest.objects.get()
    staff = _client(world["staff_a"])
    response = staff.post(
        url,
        {
            "category": "clarification",
            "request": str(request.pk),
            "text": "Реестр во вложении.",
            "attachments": [SimpleUploadedFile("clients.csv", b"a;b\n")],
        },
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.ANSWERED
    page = scc.get(url).content.decode()
    assert "clients.csv" in page
    assert "Прочитано" in page  # the staff member opened the request


def test_nudges_reuse_the_reminders_once_each(world, mailoutbox):
    request = _request(world, due=date(2025, 6, 20))  # a Friday
    assert data_request_nudges(today=date(2025, 6, 1)) == 0  # not due soon yet
    assert data_request_nudges(today=date(2025, 6, 18)) == 1
    assert data_request_nudges(today=date(2025, 6, 19)) == 0
    assert mailoutbox[0].to == ["staff_a@example.by"]
    assert f"№{request.pk}" in mailoutbox[0].subject
    assert data_request_nudges(today=date(2025, 6, 23)) == 1
    assert data_request_nudges(today=date(2025, 6, 24)) == 0
    request.refresh_from_db()
    assert (request.status, request.nudged) == (RequestStatus.OVERDUE, "overdue")
    assert "пропущен" in mailoutbox[1].subject


def test_flag_page_starts_a_message_about_the_flag(world):
    flag = ch.flag_with_evidence(op=world["a"])
    scc = _client(world["auditor"])
    page = scc.get(f"/audits/flags/{flag.pk}/").content.decode()
    link = f"/casework/messages/{world['a'].pk}/?flag={flag.pk}"
    assert link in page
    form = scc.get(link).content.decode()
    assert f'name="flag" value="{flag.pk}"' in form
    # A flag of another operator cannot be linked into this thread.
    with pytest.raises(messaging.MessageError, match="another operator"):
        messaging.message_post(
            operator=world["b"], author=world["auditor"], text="x", category="clarification", flag=flag
        )


def test_a_data_request_needs_a_future_due_date_and_shows_overdue_at_once(world):
    scc = _client(world["auditor"])
    url = f"/casework/messages/{world['a'].pk}/"
    for due, error in (("", "Укажите срок ответа"), ((timezone.localdate() - timedelta(days=1)).isoformat(), "прошёл")):
        response = scc.post(url, {"category": "data_request", "subject": "S", "due_date": due, "text": "T"})
        assert response.status_code == 200
        assert error in response.content.decode()
    assert DataRequest.objects.count() == 0
    request = _request(world, due=timezone.localdate() - timedelta(days=2))
    assert request.status == RequestStatus.OPEN
    assert f'data-request="{request.pk}" data-status="overdue"' in scc.get(url).content.decode()


def test_broadcast_page(world):
    scc = _client(world["auditor"])
    assert scc.get("/casework/messages/broadcast/").status_code == 200
    response = scc.post("/casework/messages/broadcast/", {"activity": "miner", "text": "Новая форма отчёта."})
    assert response.status_code == 302
    assert list(Message.objects.values_list("operator_id", "category")) == [(world["b"].pk, "notice")]
    staff_b = _client(world["staff_b"])
    assert "Новая форма отчёта." in staff_b.get(f"/casework/messages/{world['b'].pk}/").content.decode()
    assert (
        "Новая форма отчёта."
        not in _client(world["staff_a"]).get(f"/casework/messages/{world['a'].pk}/").content.decode()
    )


def test_answers_and_overdue_requests_on_the_notifications_page(world):
    answered_request = _request(world)
    messaging.message_post(
        operator=world["a"], author=world["staff_a"], text="Ответ.", category="clarification", request=answered_request
    )
    late = _request(world, due=date(2025, 1, 10))
    messaging.data_requests_overdue(today=date(2025, 1, 11))
    page = _client(world["auditor"]).get("/notifications/").content.decode()
    assert 'id="request-answers"' in page
    assert f'data-request="{answered_request.pk}"' in page
    assert 'id="requests-overdue"' in page
    assert f'data-request="{late.pk}"' in page
