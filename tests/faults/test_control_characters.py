"""NUL and other control characters: a 400 in a parameter, a clear row error in a filing, visible in exports."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from config.spreadsheets import export_response, safe_cell
from operators.models import FilingError, FilingStatus, RegistrationFiling
from operators.tabular.errors import RowError
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import TRANSFER_HEADER, submit, transfer_rows

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]


def _beyond_the_sniff(bad_row: str) -> bytes:
    """Good rows past the first 64 KiB (where a NUL makes the file "not text"), then the bad row."""
    good = transfer_rows(1200)
    assert len(good) > 64 * 1024
    return good + bad_row.encode()


def test_nul_after_the_first_64_kib_is_a_row_error_not_an_internal_error():
    operator = OperatorFactory()
    content = _beyond_the_sniff("TX-\x00X,2025-03-05T10:00:00+03:00,OUT,inv1,binance,AE,USDT,1\x00,3\n")
    result = submit(operator, content)
    filing = RegistrationFiling.objects.get(pk=result.filing.pk)
    assert filing.status == FilingStatus.REJECTED
    stored = list(FilingError.objects.filter(filing=filing).order_by("column"))
    assert {e.code for e in stored} == {"nul_byte"}
    assert [(e.row, e.column, e.value) for e in stored] == [(1202, "amount", "1␀"), (1202, "external_id", "TX-␀X")]
    assert "NUL" in stored[0].message_ru
    assert "NUL" in stored[0].message_en


def test_other_control_characters_in_cells_are_stored_visibly():
    operator = OperatorFactory()
    row = "TX-\x1b1,2025-03-05T10:00:00+03:00,OUT,inv\x071,binance,AE,USDT,1,3\n"
    result = submit(operator, (TRANSFER_HEADER + row).encode())
    stored = {(e.column, e.code, e.value) for e in FilingError.objects.filter(filing=result.filing)}
    assert stored == {("external_id", "invalid_text", "TX-␛1"), ("investor_ref", "invalid_text", "inv␇1")}


def test_an_unknown_header_longer_than_the_column_field_is_stored():
    """FilingError.column holds 64 characters: a long unknown header name was an internal_error."""
    operator = OperatorFactory()
    header = TRANSFER_HEADER.strip() + "," + "x\x1b" * 100 + "\n"
    result = submit(operator, (header + "1\n").encode())
    codes = {e.code for e in FilingError.objects.filter(filing=result.filing)}
    assert "unknown_column" in codes
    assert "internal_error" not in codes
    column = FilingError.objects.get(filing=result.filing, code="unknown_column").column
    assert len(column) == 64
    assert column.startswith("x␛x␛")


def test_row_errors_are_safe_however_they_are_made():
    error = RowError(3, "a\x00" * 50, "v\x00" * 300, "nul_byte")
    assert (len(error.column), len(error.value)) == (64, 201)
    assert "\x00" not in error.column + error.value
    assert RowError(3, error.column, error.value, "nul_byte") == error  # applying it again changes nothing
    assert RowError(2, "c", "tab\tand\r\nnew line", "too_long").value == "tab\tand\r\nnew line"


def test_error_report_xlsx_with_control_characters_opens(client):
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    content = _beyond_the_sniff("TX-\x01\x00,2025-03-05T10:00:00+03:00,OUT,=inv\x1b,binance,AE,USDT,\x0b1,3\n")
    data = {
        "operator": operator.pk,
        "kind": "transfer_register",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "action": "submit",
        "file": SimpleUploadedFile("f.csv", content),
    }
    client.post("/filings/", data)
    filing = RegistrationFiling.objects.get()
    from filings.services import filing_process

    filing_process(filing_id=filing.pk)
    filing.refresh_from_db()
    assert filing.status == FilingStatus.REJECTED
    response = client.get(f"/filings/{filing.pk}/errors.xlsx")
    assert response.status_code == 200
    sheet = [list(r) for r in load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)]
    assert sheet[1][:4] == ["TX-␁␀", "2025-03-05T10:00:00+03:00", "OUT", "'=inv␛"]
    assert sheet[1][7] == "␋1"
    assert sheet[1][-1].startswith("строка 1202: external_id:")
    assert "nul_byte" in sheet[1][-1]
    csv_response = client.get(f"/filings/{filing.pk}/errors.csv")
    assert csv_response.status_code == 200
    assert "TX-␁␀" in csv_response.content.decode("utf-8-sig")


def test_every_xlsx_export_writes_control_characters_visibly():
    assert safe_cell("a\x00b\x1fc\td") == "a␀b␟c\td"
    assert safe_cell("=\x01") == "'=␁"
    response = export_response(headers=["name"], rows=[["ООО\x00\x08 «Х»"], [5]], fmt="xlsx", filename="x")
    sheet = [list(r) for r in load_workbook(io.BytesIO(response.content)).worksheets[0].iter_rows(values_only=True)]
    assert sheet == [["name"], ["ООО␀␈ «Х»"], [5]]


def test_dossier_export_of_an_operator_with_control_characters(client):
    operator = OperatorFactory(name="ООО\x1b«Тест»", legal_address="г. Минск\x0c")
    client.force_login(auditor())
    response = client.get(f"/operators/{operator.pk}/dossier.xlsx")
    assert response.status_code == 200
    load_workbook(io.BytesIO(response.getvalue()))


# --- parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=ab%00cd", "%00=1", "q=a%1Bb", "q=%ff%fe", "status=%C0%80", "q=%e2%82"],
)
def test_control_characters_and_bad_utf8_in_a_page_parameter_are_400(client, query):
    client.force_login(auditor())
    response = client.get(f"/operators/?{query}")
    assert response.status_code == 400
    assert "Неверный запрос" in response.content.decode()


@pytest.mark.parametrize("query", ["cursor=%00", "x=%00", "%00x=1", "unp=%ff"])
def test_control_characters_in_an_api_parameter_are_400_with_the_api_error_body(client, query):
    from api.services import api_token_create

    key = api_token_create(name="NB", scopes=["operators"]).key
    response = client.get(f"/api/v1/operators/?{query}", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["code"]) == (400, "invalid")
    assert body["detail"]


def test_tab_line_breaks_and_cyrillic_still_pass(client):
    client.force_login(auditor())
    for query in ("q=a%09b", "q=a%0D%0Ab", "q=%D0%9E%D0%9E%D0%9E", "q=" + "x" * 100_000, "q=%27+OR+1%3D1+--"):
        assert client.get(f"/operators/?{query}").status_code == 200


def test_a_control_character_in_a_form_field_is_400(client):
    form = "application/x-www-form-urlencoded"
    response = client.post("/accounts/login/", "username=a%00b&password=x", content_type=form)
    assert response.status_code == 400
    assert "Неверный запрос" in response.content.decode()
    client.force_login(auditor())
    assert client.post("/accounts/two-factor/", "token=12%1B34", content_type=form).status_code == 400
    # Sent as multipart (not checked by the middleware), the login form refuses it as a wrong password.
    assert client.post("/accounts/login/", {"username": "a\x00b", "password": "x"}).status_code == 200


def test_a_multipart_upload_is_not_read_by_the_check(client):
    """Its fields go to their form (a NUL in a date is a form error), its file to the intake."""
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    response = client.post(
        "/filings/",
        {
            "operator": operator.pk,
            "kind": "transfer_register",
            "period_start": "2025-03-01\x00",
            "period_end": "2025-03-31",
            "action": "dry_run",
            "file": SimpleUploadedFile("f.csv", b"x"),
        },
    )
    assert response.status_code == 200
    assert RegistrationFiling.objects.count() == 0
