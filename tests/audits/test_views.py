"""Flag pages: an auditor walks a flag from open to confirmed with a note; operator staff see only
their own confirmed flags (404 otherwise) and answer them."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from auditlog.models import AuditEvent
from audits.models import Flag, FlagStatus, Rule
from audits.services import flag_confirm, scan_run
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    return h.operator()


@pytest.fixture
def flag(op):
    h.file_everything(op, until=date(2025, 5, 1))
    # A medium flag: one auditor decides it (high and critical take two: tests/audits/test_four_eyes.py).
    Rule.objects.filter(code="MISSING_FILING").update(severity="medium")
    scan_run(now=h.NOW)
    return Flag.objects.get(operator=op, rule__code="MISSING_FILING")


@pytest.fixture
def auditor_client(client):
    client.force_login(h.user("aud", group="auditors"))
    return client


def test_auditor_walks_a_flag_from_open_to_confirmed_with_a_note(auditor_client, flag):
    url = reverse("audits:flag_detail", args=[flag.pk])
    listing = auditor_client.get(reverse("audits:flag_list"))
    assert listing.status_code == 200
    assert url in listing.content.decode()
    page = auditor_client.get(url)
    assert page.status_code == 200
    assert "16.06.2025" in page.content.decode()  # the evidence: due date, dd.mm.yyyy like the rest of the page
    assert auditor_client.post(url, {"action": "take"}).status_code == 302
    auditor_client.post(url, {"action": "note", "text": "Проверил календарь"})
    auditor_client.post(url, {"action": "confirm", "text": "Отчёт за май не подан"})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CONFIRMED
    page = auditor_client.get(url).content.decode()
    assert "Проверил календарь" in page
    assert "flag.confirm" in page


def test_illegal_action_in_the_browser_is_refused_with_a_message(auditor_client, flag):
    url = reverse("audits:flag_detail", args=[flag.pk])
    auditor_client.post(url, {"action": "dismiss", "text": ""})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN
    auditor_client.post(url, {"action": "confirm"})
    auditor_client.post(url, {"action": "dismiss", "text": "too late"})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CONFIRMED


def test_operator_staff_see_only_their_confirmed_flags(client, flag, op):
    staff = h.user("staff", operator=op)
    other_staff = h.user("other", operator=h.operator())
    url = reverse("audits:flag_detail", args=[flag.pk])
    client.force_login(staff)
    assert client.get(url).status_code == 404  # not confirmed yet
    assert str(flag.pk) not in client.get(reverse("audits:flag_list")).content.decode().split("<tbody>")[1]
    flag_confirm(flag=flag, actor=h.user("aud", group="auditors"))
    assert client.get(url).status_code == 200
    client.force_login(other_staff)
    assert client.get(url).status_code == 404
    # One refusal, one event (the view knows why; the middleware records it).
    [event] = AuditEvent.objects.filter(action="access.refused", actor_username="other")
    assert event.details["reason"] == "flag not visible"
    assert event.details["status"] == 404
    client.force_login(h.user("nobody"))
    assert client.get(url).status_code == 404


def test_operator_staff_answer_with_an_attachment_and_the_auditor_sees_it(client, flag, op):
    auditor = h.user("aud", group="auditors")
    flag_confirm(flag=flag, actor=auditor)
    client.force_login(h.user("staff", operator=op))
    url = reverse("audits:flag_detail", args=[flag.pk])
    client.post(
        url,
        {
            "action": "answer",
            "text": "Подали сегодня",
            "file": SimpleUploadedFile("квитанция.pdf", b"%PDF-1.4 receipt"),
        },
    )
    assert client.post(url, {"action": "confirm"}).status_code == 403  # staff cannot review
    client.force_login(auditor)
    page = client.get(url).content.decode()
    assert "Подали сегодня" in page
    note = flag.notes.get(kind="answer")
    download = client.get(reverse("audits:answer_attachment", args=[flag.pk, note.pk]))
    assert b"".join(download.streaming_content) == b"%PDF-1.4 receipt"


def test_anonymous_is_sent_to_login(client, flag):
    response = client.get(reverse("audits:flag_detail", args=[flag.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_auditor_starts_a_scan_and_staff_cannot(client, auditor_client, op):
    response = auditor_client.post(reverse("audits:flag_list"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="scan.requested", actor_username="aud").exists()
    client.force_login(h.user("staff", operator=op))
    assert client.post(reverse("audits:flag_list")).status_code == 403


def test_flag_page_explains_the_operator_risk_score(auditor_client, flag):
    page = auditor_client.get(reverse("audits:flag_detail", args=[flag.pk])).content.decode()
    assert "Оценка риска оператора" in page
    assert "Отчёт не подан" in page  # the rule by its title, not its code
