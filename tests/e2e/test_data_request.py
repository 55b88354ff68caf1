"""In a real browser: an auditor (two-factor session) sends a data request with a due date; the operator's
staff member sees it in their thread, answers it with an attachment; the auditor sees the answer (and
that the request was read), downloads the attachment and closes the request."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.models import DataRequest, MessageRead, RequestStatus
from tests.e2e.conftest import login, screenshot
from tests.e2e.test_four_eyes import login_2fa, logout
from tests.factories import OperatorFactory, auditor, operator_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_data_request_answered_with_an_attachment_then_closed(page, live_server, tmp_path):
    operator = OperatorFactory(name="ООО «Криптообмен»")
    other = OperatorFactory(name="ООО «Другой»")
    aud = auditor(username="auditor_a")
    staff = operator_staff(operator, username="staff_a")
    operator_staff(other, username="staff_b")
    thread = f"{live_server.url}/casework/messages/{operator.pk}/"

    login_2fa(page, live_server, aud)
    page.get_by_role("link", name="Сообщения").first.click()
    page.locator(f'#threads tr[data-operator="{operator.pk}"] a').click()
    page.get_by_label("Категория").select_option("data_request")
    page.get_by_label("Тема запроса").fill("Выписка по счёту за март")
    page.get_by_label("Срок ответа").fill((timezone.localdate() + timedelta(days=7)).isoformat())
    page.get_by_label("Сообщение").fill("Представьте выписку по расчётному счёту за март.")
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_load_state("networkidle")
    request = DataRequest.objects.get()
    row = page.locator(f'#requests tr[data-request="{request.pk}"]')
    assert row.get_attribute("data-status") == "open"
    logout(page)

    login(page, live_server, staff.username)
    page.get_by_role("link", name="Сообщения").first.click()
    assert page.url.rstrip("/").endswith(f"/casework/messages/{operator.pk}")
    assert "Представьте выписку" in page.locator("#thread").inner_text()
    attachment = tmp_path / "выписка-март.pdf"
    attachment.write_bytes(b"%PDF-1.4 statement")
    page.get_by_label("Категория").select_option("clarification")
    page.get_by_label("Ответ на запрос").select_option(str(request.pk))
    page.get_by_label("Сообщение").fill("Выписка во вложении.")
    page.get_by_label("Вложения (до 5 файлов по 10 МБ)").set_input_files(str(attachment))
    page.get_by_role("button", name="Отправить").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f'#requests tr[data-request="{request.pk}"]').get_attribute("data-status") == "answered"
    # Another operator's thread does not exist for this staff member.
    assert page.goto(f"{live_server.url}/casework/messages/{other.pk}/").status == 404
    logout(page)

    # The same auditor again: a fresh device (the first code of this time step was already used).
    TOTPDevice.objects.filter(user=aud).delete()
    login_2fa(page, live_server, aud)
    page.goto(thread)
    answer = page.locator("#thread li.from-operator").last
    assert "Выписка во вложении." in answer.inner_text()
    assert "Прочитано: staff_a" in page.locator("#thread li.from-scc").last.inner_text()
    with page.expect_download() as caught:
        answer.get_by_role("link", name="выписка-март.pdf").click()
    assert caught.value.suggested_filename == "выписка-март.pdf"
    screenshot(page, "data-request")
    page.locator(f'#requests tr[data-request="{request.pk}"]').get_by_role("button", name="Закрыть запрос").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(f'#requests tr[data-request="{request.pk}"]').get_attribute("data-status") == "closed"
    request.refresh_from_db()
    assert request.status == RequestStatus.CLOSED
    assert request.closed_by == aud
    assert MessageRead.objects.filter(user=staff).exists()
