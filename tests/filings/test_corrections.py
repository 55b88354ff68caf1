"""Corrections with a reason (issue 18 item 4): a period filed again states why (category, free text, the
data request that prompted it); the dossier's timeline shows the chain of versions with their reasons;
supersession (DESIGN section 3) is unchanged."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from filings import corrections
from filings.corrections import Correction
from filings.models import FilingCorrection
from filings.services import filing_process
from operators.models import FilingStatus, RegistrationFiling
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import submit, transfer_rows

pytestmark = pytest.mark.django_db
URL = "/filings/"


def _post(client, operator, content: bytes, *, action="submit", **extra):
    data = {
        "operator": operator.pk,
        "kind": "transfer_register",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "action": action,
        "file": SimpleUploadedFile("f.csv", content),
        **extra,
    }
    response = client.post(URL, data)
    for filing in RegistrationFiling.objects.filter(status=FilingStatus.RECEIVED):
        filing_process(filing_id=filing.pk)
    return response


@pytest.fixture
def staff_client(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    return client, operator


def test_first_filing_needs_no_reason_a_resubmission_does(staff_client):
    client, operator = staff_client
    assert _post(client, operator, transfer_rows(3)).status_code == 302
    first = RegistrationFiling.objects.get()
    response = _post(client, operator, transfer_rows(4))
    assert response.status_code == 200
    page = response.content.decode()
    assert "укажите причину повторной подачи" in page
    assert "Поясните, что исправлено" in page
    assert RegistrationFiling.objects.count() == 1
    # A dry run of the new version does not ask yet.
    assert _post(client, operator, transfer_rows(4), action="dry_run").status_code == 302
    response = _post(
        client,
        operator,
        transfer_rows(4),
        correction_category="own_error",
        correction_reason="Пропущена строка TX-000004.",
    )
    assert response.status_code == 302
    second = RegistrationFiling.objects.exclude(pk=first.pk).get()
    correction = FilingCorrection.objects.get(filing=second)
    assert (correction.category, correction.previous, correction.data_request_id) == ("own_error", first, None)
    assert correction.reason == "Пропущена строка TX-000004."
    # Supersession as before: the later accepted filing replaces the earlier one.
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.superseded_by, second.status) == (
        FilingStatus.SUPERSEDED,
        second,
        FilingStatus.ACCEPTED,
    )


def test_a_correction_may_cite_its_operators_data_request_only(staff_client, monkeypatch):
    client, operator = staff_client
    monkeypatch.setattr(
        corrections,
        "data_request_sources",
        [lambda *, operator_id: [(77, "Запрос №77")] if operator_id == operator.pk else [(88, "Запрос №88")]],
    )
    _post(client, operator, transfer_rows(3))
    refused = _post(
        client,
        operator,
        transfer_rows(4),
        correction_category="scc_request",
        correction_reason="По запросу",
        data_request="88",
    )
    assert refused.status_code == 200
    assert FilingCorrection.objects.count() == 0
    accepted = _post(
        client,
        operator,
        transfer_rows(4),
        correction_category="scc_request",
        correction_reason="По запросу",
        data_request="77",
    )
    assert accepted.status_code == 302
    assert FilingCorrection.objects.get().data_request_id == 77


def test_service_records_the_reason_and_supersession_is_unchanged():
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(3)).filing
    second = submit(operator, transfer_rows(5), correction=Correction("late_data", "Пришли данные за 31.03.")).filing
    first.refresh_from_db()
    assert (first.status, first.superseded_by_id) == (FilingStatus.SUPERSEDED, second.pk)
    assert second.correction.previous == first
    with pytest.raises(ValueError, match="states its reason"):
        Correction("late_data", "  ")
    with pytest.raises(ValueError, match="unknown correction category"):
        Correction("because", "x")


def test_dossier_timeline_shows_the_versions_with_reasons(client):
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(3)).filing
    second = submit(operator, transfer_rows(4), correction=Correction("scc_request", "Исправлены суммы.", 12)).filing
    client.force_login(auditor())
    page = client.get(f"/operators/{operator.pk}/").content.decode()
    assert 'data-versions="2"' in page
    assert f'data-filing="{first.pk}"' in page
    assert f'data-filing="{second.pk}"' in page
    assert "Исправление по запросу КГК" in page
    assert "Исправлены суммы." in page
    assert "№12" in page


def test_a_checked_file_filed_again_asks_its_reason_on_the_check_page(staff_client):
    client, operator = staff_client
    _post(client, operator, transfer_rows(3))
    checked = _post(client, operator, transfer_rows(4), action="dry_run")
    check_url = checked["Location"]
    page = client.get(check_url).content.decode()
    assert 'id="correction-fields"' in page
    submit_url = f"{check_url.rstrip('/')}/submit"
    refused = client.post(submit_url, {"action": "submit"})
    assert refused["Location"] == check_url
    assert RegistrationFiling.objects.count() == 1
    filed = client.post(
        submit_url, {"action": "submit", "correction_category": "late_data", "correction_reason": "Дошли данные."}
    )
    assert filed.status_code == 302
    correction = FilingCorrection.objects.get()
    assert (correction.category, correction.reason) == ("late_data", "Дошли данные.")
    # The period's first filing is checked and filed without being asked.
    other = OperatorFactory()
    client.force_login(operator_staff(other))
    first_check = _post(client, other, transfer_rows(2), action="dry_run")["Location"]
    assert 'id="correction-fields"' not in client.get(first_check).content.decode()


def test_filing_page_shows_its_reason_and_previous_version(client):
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(3)).filing
    second = submit(operator, transfer_rows(4), correction=Correction("own_error", "Двойная строка удалена.")).filing
    client.force_login(operator_staff(operator))
    page = client.get(f"/filings/{second.pk}/").content.decode()
    assert 'id="correction"' in page
    assert "Найдена собственная ошибка" in page
    assert f'href="/filings/{first.pk}/"' in page
    assert 'id="correction"' not in client.get(f"/filings/{first.pk}/").content.decode()
