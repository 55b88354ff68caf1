"""The operator upload page: own operators only, dry run, my filings, the error report."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from filings.services import filing_process
from operators.models import FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import SAMPLES, TRANSFER_HEADER, UNP

pytestmark = pytest.mark.django_db

URL = "/filings/"


def _post(client, operator, content: bytes, *, action="submit", name="f.csv", **extra):
    """Post the form; then process what was queued, as the worker would (the Celery test covers the queue)."""
    data = {
        "operator": operator.pk,
        "kind": "transfer_register",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "action": action,
        "file": SimpleUploadedFile(name, content),
    }
    data.update(extra)
    response = client.post(URL, data)
    for filing in RegistrationFiling.objects.filter(status=FilingStatus.RECEIVED):
        filing_process(filing_id=filing.pk)
    return response


def test_staff_uploads_a_sample_and_sees_it_accepted(client):
    operator = OperatorFactory(unp=UNP)
    client.force_login(operator_staff(operator))
    response = _post(client, operator, (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes())
    filing = RegistrationFiling.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("filings:detail", args=[filing.pk])
    assert filing.status == FilingStatus.ACCEPTED
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Принят" in page.content.decode()
    listing = client.get(URL).content.decode()
    assert f'href="/filings/{filing.pk}/"' in listing


def test_upload_for_another_operator_is_404(client):
    mine, other = OperatorFactory(), OperatorFactory()
    client.force_login(operator_staff(mine))
    response = _post(client, other, (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes())
    assert response.status_code == 404
    assert RegistrationFiling.objects.count() == 0


def test_other_operators_filing_is_404_and_auditor_sees_all(client):
    mine, other = OperatorFactory(), OperatorFactory()
    staff = operator_staff(mine)
    client.force_login(operator_staff(other))
    _post(client, other, (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes())
    filing = RegistrationFiling.objects.get()
    client.force_login(staff)
    assert client.get(f"/filings/{filing.pk}/").status_code == 404
    assert client.get(f"/filings/{filing.pk}/errors.csv").status_code == 404
    assert f"/filings/{filing.pk}/" not in client.get(URL).content.decode()
    client.force_login(auditor())
    assert client.get(f"/filings/{filing.pk}/").status_code == 200
    assert f"/filings/{filing.pk}/" in client.get(URL).content.decode()


def test_auditor_cannot_upload(client):
    operator = OperatorFactory()
    client.force_login(auditor())
    assert _post(client, operator, b"x").status_code == 404


def test_dry_run_shows_every_error_and_stores_nothing(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    content = (TRANSFER_HEADER + "A,2025-03-05T10:00:00,OUT,i,binance,AE,USDT,0,1\n").encode()
    response = _post(client, operator, content, action="dry_run")
    assert response.status_code == 302  # to the check's result page (the file is kept, nothing filed)
    html = client.get(response["Location"]).content.decode()
    assert "datetime_no_offset" in html
    assert "amount_not_positive" in html
    assert RegistrationFiling.objects.count() == 0
    assert CrossBorderTransfer.objects.count() == 0


def test_error_report_round_trips_in_the_operators_template(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    # The operator's template: Windows-1251 with ';' (as the Russian Excel saves it).
    good = (SAMPLES / "191234563_transfer_register_2025-04_excel-ru.csv").read_bytes()
    bad = good + 'ТХ-Ж;2025-04-05T10:00:00;OUT;=HYPERLINK("x");binance;AE;USDT;1,5;2\r\n'.encode("cp1251")
    _post(client, operator, bad, period_start="2025-04-01", period_end="2025-04-30")
    filing = RegistrationFiling.objects.get()
    assert filing.status == FilingStatus.REJECTED
    response = client.get(f"/filings/{filing.pk}/errors.csv")
    assert response.status_code == 200
    text = response.content.decode("cp1251")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == [*TRANSFER_HEADER.strip().split(","), "errors"]
    assert len(rows) == 2
    assert rows[1][0] == "ТХ-Ж"
    assert rows[1][3] == '\'=HYPERLINK("x")'  # formula neutralised
    assert rows[1][-1].startswith("строка 4: occurred_at:")  # the reader's language, one message per problem
    assert " / " not in rows[1][-1]
    assert "datetime_no_offset" in rows[1][-1]

    response = client.get(f"/filings/{filing.pk}/errors.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    sheet = [list(r) for r in ws.iter_rows(values_only=True)]
    assert sheet[0][-1] == "errors"
    assert sheet[1][0] == "ТХ-Ж"
    assert "datetime_no_offset" in sheet[1][-1]


def test_error_report_of_an_unreadable_file_lists_the_file_error(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    _post(client, operator, b"%PDF-1.4 \x00\x01")
    filing = RegistrationFiling.objects.get()
    rows = list(csv.reader(io.StringIO(client.get(f"/filings/{filing.pk}/errors.csv").content.decode("utf-8-sig"))))
    assert rows[0] == ["errors"]
    assert "not_text" in rows[1][0]


def test_admin_pages_for_filings_and_calendar_render(client):
    from django.contrib.auth.models import User

    operator = OperatorFactory()
    staff = operator_staff(operator)
    client.force_login(staff)
    _post(client, operator, b"%PDF-1.4 \x00")
    filing = RegistrationFiling.objects.get()
    admin = User.objects.create_superuser("root-i3", "root@example.by", "correct-horse-battery-staple")
    client.force_login(admin)
    for url in (
        "/admin/operators/registrationfiling/",
        f"/admin/operators/registrationfiling/{filing.pk}/change/",
        "/admin/operators/clientrecord/",
        "/admin/operators/filingcalendar/",
        "/admin/operators/filingcalendar/add/",
        "/admin/operators/operatorprofilerecord/",
    ):
        assert client.get(url).status_code == 200, url
    assert "not_text" in client.get(f"/admin/operators/registrationfiling/{filing.pk}/change/").content.decode()
