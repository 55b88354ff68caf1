"""The filing error report (errors.csv / errors.xlsx): one export.filing_errors event per download, every
cell through the shared formula-escaping helper (issue 15, defect 3)."""

import csv
import io

import pytest
from openpyxl import load_workbook

from auditlog.models import AuditEvent
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = pytest.mark.django_db

BAD_ROWS = (
    TRANSFER_HEADER
    + 'TX-1,2025-03-05T10:00:00,OUT,=HYPERLINK("x"),binance,AE,USDT,1.5,2\n'
    + "TX-2,2025-03-05T10:00:00+03:00,OUT,@SUM(A1),binance,AE,USDT,-1,2\n"
)


def _events():
    return list(AuditEvent.objects.filter(action="export.filing_errors").order_by("pk"))


def test_each_download_is_one_audit_event_with_filing_format_and_rows(client):
    operator = OperatorFactory()
    filing = submit(operator, BAD_ROWS.encode()).filing
    assert filing.status == "rejected"
    staff = operator_staff(operator)
    client.force_login(staff)

    response = client.get(f"/filings/{filing.pk}/errors.csv")
    assert response.status_code == 200
    [event] = _events()
    assert event.actor_username == staff.username
    assert event.object_id == str(filing.pk)
    assert event.details == {"filing": filing.pk, "format": "csv", "rows": 2}

    client.force_login(auditor())
    assert client.get(f"/filings/{filing.pk}/errors.xlsx").status_code == 200
    assert client.get(f"/filings/{filing.pk}/errors.csv").status_code == 200
    events = _events()
    assert len(events) == 3
    assert [e.details["format"] for e in events] == ["csv", "xlsx", "csv"]
    assert all(e.details["rows"] == 2 for e in events)


def test_a_refused_download_writes_no_export_event(client):
    filing = submit(OperatorFactory(), BAD_ROWS.encode()).filing
    client.force_login(operator_staff(OperatorFactory()))
    assert client.get(f"/filings/{filing.pk}/errors.csv").status_code == 404
    client.force_login(auditor())
    assert client.get(f"/filings/{filing.pk}/errors.pdf").status_code == 404
    assert _events() == []


def test_formula_cells_of_header_and_rows_are_neutralised_in_both_formats(client):
    header = TRANSFER_HEADER.replace("asset", "=cmd|'/c calc'!A1")
    row = "TX-1,2025-03-05T10:00:00+03:00,OUT,+1,b,AE,USDT,1,2\n"
    filing = submit(OperatorFactory(), (header + row).encode()).filing
    assert filing.status == "rejected"
    client.force_login(auditor())
    rows = list(csv.reader(io.StringIO(client.get(f"/filings/{filing.pk}/errors.csv").content.decode("utf-8-sig"))))
    assert "'=cmd|'/c calc'!A1" in rows[0]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    sheet = load_workbook(io.BytesIO(client.get(f"/filings/{filing.pk}/errors.xlsx").content), read_only=True)
    cells = [c for r in sheet.worksheets[0].iter_rows(values_only=True) for c in r if c]
    assert "'=cmd|'/c calc'!A1" in cells
    assert all(not str(c).startswith(("=", "+", "-", "@")) for c in cells)
    assert len(_events()) == 2
