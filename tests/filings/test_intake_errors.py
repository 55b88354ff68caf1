"""Bad input gets a clear answer with its specific error code, and imports nothing."""

import io
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook

from operators.models import FilingError, FilingStatus
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, TRANSFER_HEADER, submit, transfer_rows

pytestmark = pytest.mark.django_db

GOOD = "TX-1,2025-03-05T10:00:00+03:00,OUT,inv1,binance,AE,USDT,10,32.50\n"


def codes(result):
    return {e.code for e in result.errors}


def assert_rejected(result, code):
    assert result.status == FilingStatus.REJECTED
    assert code in codes(result), result.errors
    assert CrossBorderTransfer.objects.count() == 0
    if result.filing is not None:
        assert result.filing.rows_imported == 0
        assert FilingError.objects.filter(filing=result.filing, code=code).exists()


def row_csv(**overrides) -> bytes:
    values = {
        "external_id": "TX-1",
        "occurred_at": "2025-03-05T10:00:00+03:00",
        "direction": "OUT",
        "investor_ref": "inv1",
        "platform": "binance",
        "platform_country": "AE",
        "asset": "USDT",
        "amount": "10",
        "value_byn": "32.50",
    }
    values.update(overrides)
    return (TRANSFER_HEADER + ",".join(values.values()) + "\n" + GOOD.replace("TX-1", "TX-2")).encode()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\r\n\r\n", "empty_file"),
        (TRANSFER_HEADER.encode(), "header_only"),
        (TRANSFER_HEADER.replace("asset", "ticker").encode() + b"x\n", "unknown_column"),
        (TRANSFER_HEADER.replace(",asset", "").encode(), "missing_column"),
        (TRANSFER_HEADER.replace("\n", ",comment\n").encode() + GOOD.replace("\n", ",x\n").encode(), "unknown_column"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\x00\x00", "not_text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_text"),
        (b"a" * (10 * 1024 * 1024), "line_too_long"),
        ((TRANSFER_HEADER + 'TX-1,"2025-03-05T10:00:00+03:00,OUT,inv1\n').encode(), "csv_syntax"),
        (row_csv(occurred_at="2025-03-05T10:00:00"), "datetime_no_offset"),
        (row_csv(occurred_at="2025-02-30T10:00:00Z"), "invalid_datetime"),
        (row_csv(occurred_at="05.03.2025 10:00"), "invalid_datetime"),
        (row_csv(amount="-5"), "amount_not_positive"),
        (row_csv(amount="0"), "amount_not_positive"),
        (row_csv(amount="ten"), "not_a_number"),
        (row_csv(value_byn="32.505"), "too_many_decimals"),
        (row_csv(value_byn="-1"), "value_negative"),
        (row_csv(direction="SIDEWAYS"), "invalid_direction"),
        (row_csv(platform_country="XX"), "invalid_country"),
        (row_csv(platform_country="RUS"), "invalid_country"),
        (row_csv(asset="usdt"), "invalid_asset"),
        (row_csv(occurred_at="2025-04-01T00:30:00+03:00"), "outside_period"),
        (row_csv(external_id=""), "required"),
        (row_csv(external_id="x" * 65), "too_long"),
        (TRANSFER_HEADER.encode() + GOOD.encode() + GOOD.encode(), "duplicate_external_id"),
        (TRANSFER_HEADER.encode() + b"TX-1,2025-03-05T10:00:00+03:00,OUT\n", "wrong_cell_count"),
        ("external_id,occurred_at\nЖ,1\n".encode() + "Ж".encode("cp1251"), "mixed_encoding"),
    ],
)
def test_bad_transfer_register_is_rejected_with_its_code(content, code):
    result = submit(OperatorFactory(), content)
    assert_rejected(result, code)


def test_every_bad_row_is_listed_with_spreadsheet_row_numbers():
    content = (
        TRANSFER_HEADER
        + GOOD  # row 2
        + "TX-2,2025-03-05T10:00:00,OUT,inv1,binance,AE,USDT,10,1\n"  # row 3: no offset
        + "\n"  # row 4: blank, still counted by the spreadsheet
        + 'TX-3,2025-03-05T10:00:00Z,OUT,"inv\n2",binance,AE,USDT,0,1.001\n'  # row 5: three errors
        + GOOD  # row 6: duplicate of row 2
    ).encode()
    result = submit(OperatorFactory(), content)
    got = sorted((e.row, e.column, e.code) for e in result.errors)
    assert got == [
        (3, "occurred_at", "datetime_no_offset"),
        (5, "amount", "amount_not_positive"),
        (5, "investor_ref", "invalid_text"),
        (5, "value_byn", "too_many_decimals"),
        (6, "external_id", "duplicate_external_id"),
    ]
    assert all(e.message_ru and e.message_en for e in result.errors)
    assert CrossBorderTransfer.objects.count() == 0


def test_header_problems_are_all_listed_at_once():
    header = TRANSFER_HEADER.replace("asset,", "").replace("\n", ",extra,extra\n")
    result = submit(OperatorFactory(), (header + "x\n").encode())
    assert sorted((e.column, e.code) for e in result.errors) == [
        ("asset", "missing_column"),
        ("extra", "duplicate_column"),
        ("extra", "unknown_column"),
        ("extra", "unknown_column"),
    ]


def test_file_over_the_upload_limit_is_refused_before_storing(settings):
    settings.FILING_MAX_UPLOAD_BYTES = 100
    result = submit(OperatorFactory(), transfer_rows(10))
    assert result.status == FilingStatus.REJECTED
    assert codes(result) == {"file_too_large"}
    assert result.filing is None


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_xlsx_first_sheet_is_accepted():
    header = TRANSFER_HEADER.strip().split(",")
    content = _xlsx(
        [
            header,
            ["TX-1", "2025-03-05T10:00:00+03:00", "OUT", "inv1", "Binance", "AE", "USDT", 10.5, 32.5],
            ["TX-2", "2025-03-06T10:00:00Z", "IN", "inv1", "binance", "AE", "USDT", 3, 9.75],
        ]
    )
    result = submit(OperatorFactory(), content, name="f.xlsx")
    assert result.errors == []
    assert result.status == FilingStatus.ACCEPTED
    assert CrossBorderTransfer.objects.count() == 2


def test_xlsx_zip_bomb_is_refused_by_declared_size(settings):
    settings.FILING_XLSX_MAX_SHARED_STRINGS_BYTES = 10 * 1024 * 1024
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/sharedStrings.xml", b" " * (64 * 1024 * 1024))  # deflates to ~64 KB
    content = out.getvalue()
    assert len(content) < 1024 * 1024
    result = submit(OperatorFactory(), content, name="bomb.xlsx")
    assert_rejected(result, "xlsx_too_large")


def test_broken_xlsx_is_a_clear_error():
    result = submit(OperatorFactory(), b"PK\x03\x04garbage", name="f.xlsx")
    assert_rejected(result, "bad_xlsx")


def test_client_register_errors():
    content = (
        b"investor_ref,residency_country,registered_at,kyc_level\n"
        b"inv1,BY,2025-02-30,standard\n"
        b"inv2,ZZ,2025-01-01,premium\n"
        b"inv1,BY,2025-05-01,simplified\n"
    )
    result = submit(OperatorFactory(), content, kind="client_register", start=date(2025, 1, 1), end=date(2025, 3, 31))
    got = sorted((e.row, e.code) for e in result.errors)
    assert got == [
        (2, "invalid_date"),
        (3, "invalid_choice"),
        (3, "invalid_country"),
        (4, "duplicate_investor_ref"),
        (4, "registered_after_period"),
    ]


def test_operator_profile_with_bad_unp_and_two_rows():
    sample = (SAMPLES / "191234563_operator_profile_2024.csv").read_text()
    header, row = sample.strip().split("\n")
    content = (header + "\n" + row.replace("191234563", "191234564", 1) + "\n" + row + "\n").encode()
    result = submit(OperatorFactory(), content, kind="operator_profile", start=date(2024, 1, 1), end=date(2024, 12, 31))
    assert {"invalid_unp", "profile_row_count"} <= codes(result)


def test_duplicate_of_a_bad_row_is_reported_in_the_same_round():
    content = (
        TRANSFER_HEADER
        + "TX-1,2025-03-05T10:00:00,OUT,inv1,binance,AE,USDT,10,1\n"  # row 2: bad (no offset)
        + GOOD  # row 3: valid, but reuses TX-1
    ).encode()
    result = submit(OperatorFactory(), content)
    assert sorted((e.row, e.code) for e in result.errors) == [(2, "datetime_no_offset"), (3, "duplicate_external_id")]


def test_errors_past_the_cap_still_reject_cleanly(monkeypatch):
    """Past MAX_ERRORS the list stops growing, but every later bad row is still known to be bad."""
    from operators.tabular import errors as intake_errors
    from tests.factories import OperatorFactory as _Operator
    from tests.filings.intake_helpers import TRANSFER_HEADER as _HEADER
    from tests.filings.intake_helpers import submit as _submit

    monkeypatch.setattr(intake_errors, "MAX_ERRORS", 3)
    rows = "".join(f"T{n},2025-03-05T10:00:00,OUT,inv{n},binance,AE,USDT,1,1.00\n" for n in range(10))  # no offset
    rows += "T0,2025-03-05T10:00:00Z,OUT,inv0,binance,AE,USDT,1,1.00\n"  # a duplicate: the exact (stage) path
    result = _submit(_Operator(), (_HEADER + rows).encode())
    codes = [e.code for e in result.errors]
    assert result.status == "rejected"
    assert "too_many_errors" in codes
    assert "internal_error" not in codes
    assert len(result.errors) == 4  # 3 listed and the cap notice
