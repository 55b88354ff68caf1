"""Uploads that guide the filer (issue 16, item 4): progress recorded and served to the right people only,
the dry run's kept file (its owner, operator and expiry), its downloadable error report, "Submit this
file", the form's defaults, templates and samples."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from auditlog.models import AuditEvent
from filings.kept_purge import kept_uploads_purge
from filings.models import KeptUpload
from filings.progress import filing_key, progress_get, progress_put, upload_key
from operators.models import FilingStatus, RegistrationFiling
from operators.tabular.progress import READING, ROWS, Progress
from operators.tabular.reader import prepare_table
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import SAMPLES, TRANSFER_HEADER, UNP, submit

FORM_TOKEN = "tok-form-1"
SAMPLE = SAMPLES / "191234563_transfer_register_2025-03.csv"
BROKEN = (
    TRANSFER_HEADER
    + "TX-1,2025-03-01T09:15:00,OUT,inv1,binance,AE,USDT,1500.00,4875.00\n"
    + 'TX-2,2025-03-02T18:40:12Z,SIDEWAYS,"=HYPERLINK(""x"")",bybit,AE,BTC,0.0125,3312.50\n'
)


def _rows(n: int) -> bytes:
    lines = [f"T{i},2025-03-05T10:00:00Z,OUT,inv{i},binance,AE,USDT,1.5,{i}.25" for i in range(n)]
    return (TRANSFER_HEADER + "\n".join(lines) + "\n").encode()


def _form(operator, content: bytes, *, action: str, name: str = "f.csv") -> dict:
    return {
        "operator": operator.pk,
        "kind": "transfer_register",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "action": action,
        "upload_token": FORM_TOKEN,
        "file": SimpleUploadedFile(name, content),
    }


# --- progress: the reader reports it, the intake records it -----------------------------------------


def test_reader_reports_reading_then_rows_read_of_rows_total(tmp_path: Path):
    path = tmp_path / "big.csv"
    path.write_bytes(_rows(10_000))
    seen: list[dict] = []
    progress = Progress(seen.append, interval=0)
    with prepare_table(path, progress=progress) as source:
        rows = sum(1 for _ in source.table().records)
    assert rows == 10_000
    phases = [s["phase"] for s in seen]
    assert phases.index(READING) < phases.index(ROWS)
    last = seen[-1]
    assert last["phase"] == ROWS
    assert last["rows_total"] == 10_000
    assert 8_000 <= last["rows_read"] <= 10_000  # advanced every 4096 records


def test_progress_is_sent_at_most_once_an_interval_but_at_each_phase():
    seen: list[dict] = []
    progress = Progress(seen.append, interval=3600)
    progress.start(ROWS, rows_total=10)
    for n in range(1, 11):
        progress.advance(n)
    assert len(seen) == 1
    progress.start("saving")
    assert [s["phase"] for s in seen] == [ROWS, "saving"]


@pytest.mark.django_db
def test_processing_records_the_filings_progress_and_its_status_says_done(client):
    operator = OperatorFactory(unp=UNP)
    result = submit(operator, _rows(5_000))
    filing = result.filing
    assert filing.status == FilingStatus.ACCEPTED
    recorded = progress_get(key=filing_key(filing.pk))
    assert recorded["phase"] == "saving"
    client.force_login(operator_staff(operator))
    body = client.get(f"/filings/{filing.pk}/progress.json").json()
    assert body["done"] is True
    assert body["status"] == "accepted"
    assert (body["rows_read"], body["rows_total"], body["percent"]) == (5_000, 5_000, 100)


@pytest.mark.django_db
def test_filing_progress_while_pending_and_who_may_read_it(client):
    mine, other = OperatorFactory(), OperatorFactory()
    filing = submit(mine, _rows(3), process_now=False).filing
    RegistrationFiling.objects.filter(pk=filing.pk).update(status=FilingStatus.PROCESSING)
    progress_put(key=filing_key(filing.pk), data={"phase": ROWS, "rows_read": 50_000, "rows_total": 200_000})
    url = f"/filings/{filing.pk}/progress.json"

    client.force_login(operator_staff(mine))
    body = client.get(url).json()
    assert (body["phase"], body["percent"], body["done"]) == (ROWS, 25, False)
    assert body["label"].startswith("Проверка и загрузка строк")
    assert "50 000" in body["label"].replace("\xa0", " ")
    assert "200 000" in body["label"].replace("\xa0", " ")

    client.force_login(auditor())
    assert client.get(url).status_code == 200

    client.force_login(operator_staff(other))  # another operator's staff: as if it did not exist
    assert client.get(url).status_code == 404

    client.logout()
    assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_upload_progress_is_its_senders_only(client):
    operator = OperatorFactory()
    sender, colleague = operator_staff(operator), operator_staff(operator)
    progress_put(key=upload_key("tok-a"), data={"phase": ROWS, "rows_read": 1, "rows_total": 4, "user": sender.pk})
    client.force_login(sender)
    assert client.get("/filings/uploads/tok-a/progress.json").json()["percent"] == 25
    assert client.get("/filings/uploads/unknown/progress.json").json()["phase"] == "sending"
    client.force_login(colleague)
    assert client.get("/filings/uploads/tok-a/progress.json").status_code == 404


# --- the dry run keeps its file; its report; "Submit this file" -------------------------------------


@pytest.mark.django_db
def test_dry_run_keeps_the_file_says_check_failed_and_its_report_downloads(client):
    operator = OperatorFactory()
    staff = operator_staff(operator)
    client.force_login(staff)
    response = client.post("/filings/", _form(operator, BROKEN.encode(), action="dry_run"))
    assert response.status_code == 302
    kept = KeptUpload.objects.get()
    assert response["Location"] == f"/filings/checks/{kept.token}/"
    assert not RegistrationFiling.objects.exists()  # nothing filed
    assert Path(kept.file.path).read_bytes() == BROKEN.encode()
    assert (kept.user, kept.operator, kept.status) == (staff, operator, "rejected")
    assert timezone.now() + timedelta(minutes=50) < kept.expires_at <= timezone.now() + timedelta(minutes=61)
    # The dry run's progress was recorded under the form's token, for its sender.
    recorded = progress_get(key=upload_key(FORM_TOKEN))
    assert recorded["user"] == staff.pk
    assert recorded["rows_total"] == 2

    page = client.get(response["Location"]).content.decode()
    assert "проверка не пройдена" in page
    assert "Отклонён" not in page
    assert "datetime_no_offset" in page
    assert "invalid_direction" in page
    assert 'id="kept-submit"' not in page  # a failed check is not offered for filing

    report = client.get(f"/filings/checks/{kept.token}/errors.csv")
    assert report.status_code == 200
    text = report.content.decode("utf-8-sig")
    delimiter = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert rows[0] == [*TRANSFER_HEADER.strip().split(","), "errors"]
    assert [r[0] for r in rows[1:]] == ["TX-1", "TX-2"]
    assert rows[2][3] == '\'=HYPERLINK("x")'  # formula neutralised by config.spreadsheets.safe_cell
    assert rows[1][-1].startswith("строка 2: occurred_at:")
    assert "datetime_no_offset" in rows[1][-1]
    event = AuditEvent.objects.filter(action="export.dry_run_errors").get()
    assert event.details["format"] == "csv"
    assert event.details["rows"] == 2

    xlsx = client.get(f"/filings/checks/{kept.token}/errors.xlsx")
    sheet = [
        list(r)
        for r in load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    ]
    assert sheet[0][-1] == "errors"
    assert sheet[2][0] == "TX-2"
    assert not RegistrationFiling.objects.exists()  # the report files nothing either


@pytest.mark.django_db
def test_submit_this_file_files_the_kept_file_and_removes_it(client):
    operator = OperatorFactory(unp=UNP)
    staff = operator_staff(operator)
    client.force_login(staff)
    content = SAMPLE.read_bytes()
    response = client.post("/filings/", _form(operator, content, action="dry_run", name=SAMPLE.name))
    kept = KeptUpload.objects.get()
    page = client.get(response["Location"]).content.decode()
    assert "проверка пройдена" in page
    assert 'id="kept-submit"' in page
    path = Path(kept.file.path)

    response = client.post(f"/filings/checks/{kept.token}/submit", {"upload_token": "tok-submit"})
    filing = RegistrationFiling.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/filings/{filing.pk}/"
    assert filing.file.read() == content
    assert (filing.original_name, filing.kind, filing.submitted_by) == (SAMPLE.name, "transfer_register", staff)
    assert not KeptUpload.objects.exists()
    assert not path.exists()
    # The submitting form's status follows the filing it became.
    assert client.get("/filings/uploads/tok-submit/progress.json").json()["filing"] == filing.pk
    # The token is spent.
    assert client.post(f"/filings/checks/{kept.token}/submit").status_code == 404


@pytest.mark.django_db
def test_kept_file_is_its_users_only_and_expires(client):
    operator, other = OperatorFactory(), OperatorFactory()
    owner = operator_staff(operator)
    client.force_login(owner)
    client.post("/filings/", _form(operator, BROKEN.encode(), action="dry_run"))
    kept = KeptUpload.objects.get()
    urls = [f"/filings/checks/{kept.token}/", f"/filings/checks/{kept.token}/errors.csv"]

    for intruder in (operator_staff(operator), operator_staff(other), auditor()):
        client.force_login(intruder)
        for url in urls:
            assert client.get(url).status_code == 404, (intruder, url)
        assert client.post(f"/filings/checks/{kept.token}/submit").status_code == 404

    client.force_login(owner)
    assert client.get(urls[0]).status_code == 200
    KeptUpload.objects.filter(pk=kept.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(urls[0]).status_code == 404
    path = Path(kept.file.path)
    assert kept_uploads_purge() == 1
    assert not path.exists()
    assert not KeptUpload.objects.exists()


@pytest.mark.django_db
def test_a_failed_check_cannot_be_submitted(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    client.post("/filings/", _form(operator, BROKEN.encode(), action="dry_run"))
    kept = KeptUpload.objects.get()
    response = client.post(f"/filings/checks/{kept.token}/submit")
    assert response.status_code == 302
    assert not RegistrationFiling.objects.exists()


# --- the form: what is due next, templates and samples ----------------------------------------------


@pytest.mark.django_db
def test_form_preselects_the_period_due_next_and_links_templates_and_samples(client):
    operator = OperatorFactory(htp_registered_on=timezone.localdate() - timedelta(days=400))
    client.force_login(operator_staff(operator))
    response = client.get("/filings/")
    calendar = response.context["calendar"]
    assert calendar, "the operator owes periods"
    missing = sorted((row for _, row in calendar if row.state == "missing"), key=lambda r: r.due_date)
    expected = missing[0] if missing else min((row for _, row in calendar), key=lambda r: r.due_date)
    initial = response.context["form"].initial
    assert (initial["kind"], initial["period_start"], initial["period_end"]) == (
        expected.kind,
        expected.period_start,
        expected.period_end,
    )
    html = response.content.decode()
    assert f'<option value="{expected.kind}" selected>' in html
    assert 'href="/static/samples/191234563_transfer_register_2025-03.csv"' in html
    assert 'href="/filings/templates/transfer_register.xlsx"' in html
    assert 'src="/static/js/upload.js"' in html
    assert 'name="upload_token"' in html


@pytest.mark.django_db
def test_form_defaults_to_the_transfer_register_when_nothing_is_owed(client):
    operator = OperatorFactory(htp_registered_on=timezone.localdate())
    client.force_login(operator_staff(operator))
    response = client.get("/filings/")
    assert response.context["form"].initial["kind"] == "transfer_register"


@pytest.mark.django_db
def test_templates_have_exactly_the_checked_columns(client):
    client.force_login(operator_staff(OperatorFactory()))
    body = client.get("/filings/templates/transfer_register.csv").content.decode("utf-8-sig")
    assert body == TRANSFER_HEADER.replace("\n", "\r\n")
    xlsx = client.get("/filings/templates/client_register.xlsx")
    header = next(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert list(header) == ["investor_ref", "residency_country", "registered_at", "kyc_level"]
    assert client.get("/filings/templates/nothing.csv").status_code == 404


@pytest.mark.django_db
def test_a_status_request_does_not_write_the_session(client):
    """Polled every second: no write (on the embedded default the import holds SQLite's write lock), and the
    session does not outlive the user's own activity because a page polls."""
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    key = client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() + timedelta(minutes=5))
    before = Session.objects.get(session_key=key).expire_date
    assert client.get("/filings/uploads/none/progress.json").status_code == 200
    assert Session.objects.get(session_key=key).expire_date == before
    client.get("/filings/")  # an ordinary page does extend it
    assert Session.objects.get(session_key=key).expire_date > before


def test_an_xlsx_reports_its_sheet_read_then_its_rows(tmp_path: Path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(TRANSFER_HEADER.strip().split(","))
    for i in range(5_000):
        sheet.append([f"T{i}", "2025-03-05T10:00:00Z", "OUT", f"inv{i}", "binance", "AE", "USDT", "1.5", "2.25"])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    seen: list[dict] = []
    with prepare_table(path, progress=Progress(seen.append, interval=0)) as source:
        assert source.rejected is None
        assert sum(1 for _ in source.table().records) == 5_000
    reading = [s for s in seen if s["phase"] == READING]
    assert reading[-1]["rows_read"] == 4096  # the sheet's rows as they are unpacked, total unknown
    assert reading[-1]["rows_total"] is None
    assert seen[-1]["phase"] == ROWS
    assert seen[-1]["rows_total"] == 5_000


@pytest.mark.django_db
def test_check_page_names_a_declared_total_that_differs(client):
    operator = OperatorFactory(unp=UNP)
    client.force_login(operator_staff(operator))
    data = _form(operator, SAMPLE.read_bytes(), action="dry_run")
    data["declared_rows"] = "999"
    page = client.get(client.post("/filings/", data)["Location"]).content.decode()
    assert "проверка пройдена" in page  # a differing declared total is a warning, not an error
    assert "declared_rows" not in page
    assert "999" in page


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_and_not_kept(client, settings):
    settings.FILING_MAX_UPLOAD_BYTES = 100
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    response = client.post("/filings/", _form(operator, _rows(50), action="dry_run"))
    kept = KeptUpload.objects.get()
    assert not kept.file
    assert kept.errors[0][3] == "file_too_large"
    page = client.get(response["Location"]).content.decode()
    assert "проверка не пройдена" in page
    report = client.get(f"/filings/checks/{kept.token}/errors.csv").content.decode("utf-8-sig")
    assert "file_too_large" in report


@pytest.mark.django_db
def test_a_pending_filing_shows_its_progress_not_zero_rows(client):
    operator = OperatorFactory()
    filing = submit(operator, _rows(3), process_now=False).filing
    client.force_login(operator_staff(operator))
    page = client.get(f"/filings/{filing.pk}/").content.decode()
    assert f'data-progress-url="/filings/{filing.pk}/progress.json"' in page
    assert "считаются" in page
    assert '<noscript><meta http-equiv="refresh"' in page
