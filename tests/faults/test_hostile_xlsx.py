"""The four hostile XLSX files of issue 14, rebuilt here, and an operator whose import runs.

Why one file of ~450 lines: the file builders are shared by every case here and by
tests/faults/test_hostile_registry.py; each cap is proven by its own small test beside them.

Each file stays far under the upload limit and used to stall the portal: a sheet
declaring A1:XFD1048576 with one far cell (48 min of CPU), 14 M shared strings in
610 KB (807 MB and a 500 on dry run), 900 MB of whitespace in 0.9 MB (2 GB for good)
and a 2,000 x 16,384 sheet (still running after 15 min). Each must now be refused
with its own error code within seconds and in bounded memory, on a dry run (the
service, the upload page, the API) and through the real worker; a slow file ends
as a rejected filing when its time budget runs out; and while one filing of an
operator is imported, the operator's next upload answers at once.
"""

import io
import signal
import time
import tracemalloc
import zipfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction

from api.models import Scope
from api.services import api_token_create
from filings.services import filing_submit
from operators.models import FilingStatus, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.conftest import wait_for
from tests.factories import OperatorFactory, operator_staff
from tests.filings.intake_helpers import TRANSFER_HEADER, submit, transfer_rows

pytestmark = pytest.mark.abuse

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = TRANSFER_HEADER.strip().split(",")
# What each file is refused with under the default settings.
EXPECTED = {
    "far_cell": "xlsx_dimension_too_large",
    "shared_strings": "xlsx_shared_strings_too_many",
    "whitespace": "xlsx_inflated_too_large",
    "wide": "xlsx_dimension_too_large",
}
FAST_SECONDS = 15  # "within seconds", on a loaded 2-core test machine
MEMORY_MB = 64


# --- building the files -------------------------------------------------------------------


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _header_row() -> bytes:
    cells = "".join(
        f'<c r="{_letters(i)}1" t="inlineStr"><is><t>{name}</t></is></c>' for i, name in enumerate(HEADER, 1)
    )
    return f'<row r="1">{cells}</row>'.encode()


def _sheet_start(dimension: str | None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}<sheetData>'.encode()


SHEET_END = b"</sheetData></worksheet>"


def build_xlsx(path: Path, sheet, shared=None, *, level: int = 6) -> Path:
    """A workbook whose first sheet (and shared strings) are streamed from the given chunks."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>' if shared else "")
            + "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{NS}" xmlns:r="{rel}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            + (f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>' if shared else "")
            + "</Relationships>",
        )
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            for chunk in sheet:
                out.write(chunk)
        if shared:
            with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
                for chunk in shared:
                    out.write(chunk)
    return path


def far_cell(path: Path, *, dimension: str | None = "A1:XFD1048576", far: str = "XFD1048576") -> Path:
    row = "".join(ch for ch in far if ch.isdigit())
    return build_xlsx(
        path,
        [_sheet_start(dimension), _header_row(), f'<row r="{row}"><c r="{far}"><v>1</v></c></row>'.encode(), SHEET_END],
    )


def shared_strings(path: Path, *, count: int = 14_000_000, declare: bool = True) -> Path:
    def strings():
        attrs = f' count="{count}" uniqueCount="{count}"' if declare else ""
        yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}"{attrs}>'.encode()
        block = b"<si><t/></si>" * 100_000
        for _ in range(count // 100_000):
            yield block
        yield b"<si><t/></si>" * (count % 100_000) + b"</sst>"

    row = b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return build_xlsx(path, [_sheet_start("A1:I2"), _header_row(), row, SHEET_END], strings())


def whitespace(path: Path, *, mb: int = 900) -> Path:
    def sheet():
        yield _sheet_start("A1:I2") + _header_row()
        block = b" " * (1 << 20)
        for _ in range(mb):
            yield block
        yield SHEET_END

    return build_xlsx(path, sheet())


def wide(path: Path, *, rows: int = 2000, cols: int = 16_384, dimension: bool = True) -> Path:
    def sheet():
        yield _sheet_start(f"A1:{_letters(cols)}{rows}" if dimension else None)
        body = b"<c><v>1</v></c>" * cols
        for r in range(1, rows + 1):
            yield b'<row r="%d">' % r + body + b"</row>"
        yield SHEET_END

    return build_xlsx(path, sheet(), level=1)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {
        "far_cell": far_cell(folder / "far.xlsx"),
        "shared_strings": shared_strings(folder / "sst.xlsx"),
        "whitespace": whitespace(folder / "ws.xlsx"),
        "wide": wide(folder / "wide.xlsx"),
    }
    contents = {name: path.read_bytes() for name, path in files.items()}
    # As small as the issue's files: the upload limit is no defence.
    assert len(contents["far_cell"]) < 4 * 1024
    assert len(contents["shared_strings"]) < 1024 * 1024
    assert len(contents["whitespace"]) < 1024 * 1024
    return contents


# --- measuring -------------------------------------------------------------------------------


class TooSlow(BaseException):
    """Not an Exception: no handler in the code under test may take it for a bad file."""


@contextmanager
def within(seconds: float):
    """Fail (instead of hanging for 48 minutes on the old code) when the block takes longer."""

    def fire(_signum, _frame):
        raise TooSlow(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def bounded_memory(mb: int = MEMORY_MB):
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    finally:
        tracemalloc.stop()
    assert peak < mb, f"peak {peak:.0f} MB of Python memory"


def codes(result) -> set[str]:
    return {e.code for e in result.errors}


def dry_run(operator, content: bytes):
    with within(FAST_SECONDS), bounded_memory():
        return submit(operator, content, name="hostile.xlsx", dry_run=True)


# --- dry runs in the web process ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(EXPECTED))
def test_dry_run_refuses_each_hostile_file_at_once_in_bounded_memory(hostile, name):
    result = dry_run(OperatorFactory(), hostile[name])
    assert result.status == FilingStatus.REJECTED
    assert codes(result) == {EXPECTED[name]}
    assert not RegistrationFiling.objects.exists()


@pytest.mark.django_db
def test_upload_page_and_api_dry_runs_answer_with_the_code(client, hostile):
    operator = OperatorFactory()
    staff = operator_staff(operator)
    client.force_login(staff)
    key = api_token_create(name="t", scopes=list(Scope.values), user=staff, operator=operator).key
    for name, content in hostile.items():
        data = {
            "operator": operator.pk,
            "kind": "transfer_register",
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "action": "dry_run",
            "file": SimpleUploadedFile("hostile.xlsx", content),
        }
        with within(FAST_SECONDS):
            page = client.post("/filings/", data, follow=True)
        assert page.status_code == 200, name
        assert EXPECTED[name] in page.content.decode(), name
        data["file"] = SimpleUploadedFile("hostile.xlsx", content)
        with within(FAST_SECONDS):
            api = client.post("/api/v1/filings/?dry_run=1", data, HTTP_AUTHORIZATION=f"Token {key}")
        assert api.status_code == 200, (name, api.content[:300])
        assert {e["code"] for e in api.json()["errors"]} == {EXPECTED[name]}, name
    assert not RegistrationFiling.objects.exists()


# --- each cap on its own (the other caps lifted, so this one is what refuses) --------------------


@pytest.mark.django_db
def test_shared_strings_are_counted_before_any_is_built_when_the_count_is_not_declared(settings, tmp_path):
    settings.FILING_XLSX_MAX_COMPRESSION_RATIO = 10**9
    content = shared_strings(tmp_path / "sst.xlsx", declare=False).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert codes(result) == {"xlsx_shared_strings_too_many"}


@pytest.mark.django_db
def test_whitespace_is_streamed_past_without_keeping_it_when_the_ratio_cap_is_lifted(settings, tmp_path):
    settings.FILING_XLSX_MAX_COMPRESSION_RATIO = 10**9
    content = whitespace(tmp_path / "ws.xlsx", mb=64).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert codes(result) == {"xlsx_inflated_too_large"}


@pytest.mark.django_db
def test_wide_sheet_without_a_dimension_is_refused_at_the_first_cell_past_the_column_cap(settings, tmp_path):
    settings.FILING_XLSX_MAX_COMPRESSION_RATIO = 10**9
    content = wide(tmp_path / "wide.xlsx", rows=300, dimension=False).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert [(e.code, e.row) for e in result.errors] == [("xlsx_dimension_too_large", 1)]


@pytest.mark.django_db
@pytest.mark.parametrize("far", ["XFD1048576", "BM2", "A2000000"])
def test_a_far_cell_without_a_dimension_is_refused_by_its_reference(tmp_path, far):
    content = far_cell(tmp_path / "far.xlsx", dimension=None, far=far).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert codes(result) == {"xlsx_dimension_too_large"}


@pytest.mark.django_db
def test_cells_are_counted(settings, tmp_path):
    settings.FILING_XLSX_MAX_CELLS = 1000
    content = wide(tmp_path / "cells.xlsx", rows=200, cols=9).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert codes(result) == {"xlsx_too_many_cells"}


@pytest.mark.django_db
def test_a_cell_of_900_mb_is_cut_at_excels_own_cell_limit(settings, tmp_path):
    settings.FILING_XLSX_MAX_COMPRESSION_RATIO = 10**9

    def sheet():
        yield _sheet_start("A1:I2") + _header_row() + b'<row r="2"><c r="A2" t="str"><v>'
        for _ in range(64):
            yield b"x" * (1 << 20)
        yield b"</v></c></row>" + SHEET_END

    content = build_xlsx(tmp_path / "cell.xlsx", sheet()).read_bytes()
    result = dry_run(OperatorFactory(), content)
    assert [(e.code, e.row, e.column) for e in result.errors] == [("too_long", 2, "A")]


# --- the time budget -------------------------------------------------------------------------


def _slow_xlsx(path: Path, rows: int = 150_000) -> bytes:
    """A plain, valid-looking sheet that takes seconds to read."""

    def sheet():
        yield _sheet_start(None) + _header_row()
        row = (
            b'<row><c t="inlineStr"><is><t>TX-1</t></is></c><c t="inlineStr"><is><t>2025-03-05T10:00:00Z</t></is></c>'
            b'<c t="inlineStr"><is><t>OUT</t></is></c><c t="inlineStr"><is><t>inv</t></is></c>'
            b'<c t="inlineStr"><is><t>binance</t></is></c><c t="inlineStr"><is><t>AE</t></is></c>'
            b'<c t="inlineStr"><is><t>USDT</t></is></c><c><v>1.5</v></c><c><v>4.5</v></c></row>'
        )
        for _ in range(rows // 1000):
            yield row * 1000
        yield SHEET_END

    return build_xlsx(path, sheet()).read_bytes()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_filing_past_its_time_budget_ends_rejected_with_a_clear_code(settings, tmp_path, fmt):
    settings.FILING_XLSX_MAX_COMPRESSION_RATIO = 10**9
    settings.FILING_TIME_BUDGET_BASE_SECONDS = 0.3
    settings.FILING_TIME_BUDGET_SECONDS_PER_MB = 0
    content = _slow_xlsx(tmp_path / "slow.xlsx") if fmt == "xlsx" else transfer_rows(300_000)
    with within(FAST_SECONDS):
        result = submit(OperatorFactory(), content, name=f"slow.{fmt}")
    assert result.status == FilingStatus.REJECTED
    assert codes(result) == {"file_time_budget_exceeded"}
    assert not CrossBorderTransfer.objects.exists()
    # With the default budget (60 s plus 10 s per MB) the same file is simply read.
    settings.FILING_TIME_BUDGET_BASE_SECONDS = 60
    settings.FILING_TIME_BUDGET_SECONDS_PER_MB = 10
    result = submit(OperatorFactory(), content, name=f"slow.{fmt}", dry_run=True)
    assert "file_time_budget_exceeded" not in codes(result)


# --- through the real worker -------------------------------------------------------------------


def _submit_async(operator, content: bytes, *, name: str, start=date(2025, 3, 1), end=date(2025, 3, 31)):
    return filing_submit(
        operator=operator,
        kind="transfer_register",
        period_start=start,
        period_end=end,
        uploaded_file=SimpleUploadedFile(name, content),
        user=None,
    )


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_hostile_files_submitted_to_the_worker_end_rejected_with_their_code(celery_worker_process, hostile):
    operator = OperatorFactory()
    filings = {}
    for i, (name, content) in enumerate(hostile.items()):
        # A month each: every file is a filing of its own.
        filings[name] = _submit_async(
            operator, content, name=f"{name}.xlsx", start=date(2025, i + 1, 1), end=date(2025, i + 1, 28)
        ).filing.pk
    wait_for(
        lambda: RegistrationFiling.objects.filter(pk__in=filings.values(), status=FilingStatus.REJECTED).count() == 4,
        timeout=90,
    )
    for name, pk in filings.items():
        filing = RegistrationFiling.objects.get(pk=pk)
        assert list(filing.errors.values_list("code", flat=True)) == [EXPECTED[name]], name
        assert filing.processed_at is not None


# --- one import of an operator does not block its next upload ----------------------------------


def _import_lock_held(operator_id: int) -> bool:
    """Whether something holds the operator's row lock (a NOWAIT attempt of our own fails)."""
    try:
        with transaction.atomic():
            Operator.objects.select_for_update(no_key=True, nowait=True).filter(pk=operator_id).first()
    except DatabaseError:
        return True
    return False


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_the_operators_next_upload_answers_while_its_import_runs(celery_worker_process, client, settings):
    settings.FILING_DRY_RUN_LOCK_WAIT_SECONDS = 1
    operator = OperatorFactory()
    client.force_login(operator_staff(operator))
    big = _submit_async(operator, transfer_rows(500_000), name="big.csv").filing
    wait_for(lambda: _import_lock_held(operator.pk), timeout=60, interval=0.05)
    started = time.monotonic()
    with within(FAST_SECONDS):
        # A new upload (a filing row referencing the operator) answers at once ...
        response = client.post(
            "/filings/",
            {
                "operator": operator.pk,
                "kind": "transfer_register",
                "period_start": "2025-04-01",
                "period_end": "2025-04-30",
                "action": "submit",
                "file": SimpleUploadedFile("april.csv", transfer_rows(3, start=900_001, day="2025-04-05")),
            },
        )
        upload_seconds = time.monotonic() - started
        # ... and a dry run says the operator is busy instead of waiting for the whole import.
        busy = submit(operator, transfer_rows(2, start=800_001), dry_run=True)
    assert response.status_code == 302, response.content[:500]
    assert RegistrationFiling.objects.get(pk=big.pk).status == FilingStatus.PROCESSING, "the import ended first"
    assert upload_seconds < 5
    assert codes(busy) == {"operator_busy"}
    # The import itself is unharmed: both filings are accepted in turn.
    wait_for(
        lambda: RegistrationFiling.objects.filter(operator=operator, status=FilingStatus.ACCEPTED).count() == 2,
        timeout=240,
    )
    assert CrossBorderTransfer.objects.filter(operator=operator).count() == 500_003


def test_the_hostile_builders_make_what_the_issue_describes(hostile):
    with zipfile.ZipFile(io.BytesIO(hostile["whitespace"])) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 900 * 1024 * 1024
    with zipfile.ZipFile(io.BytesIO(hostile["wide"])) as z:
        head = z.open("xl/worksheets/sheet1.xml").read(200)
    assert b'<dimension ref="A1:XFD2000"/>' in head
