"""Reading an uploaded filing as rows of strings, whatever the operator's spreadsheet saved.

CSV: UTF-8 (with or without BOM) or Windows-1251, delimiter `,` or `;`
(detected from the header), CRLF or LF. XLSX: the first sheet, streamed
by operators/tabular/xlsx.py with its sizes capped before and while reading.
Rows are numbered as the operator's spreadsheet numbers them: the header is
row 1, and each CSV record (even one with a quoted line break) is one row.

Why one module of about 400 lines: the one pass over a file's bytes (`_scan`: encoding, longest
line, line count for the progress bar, the time budget) and the readers it prepares for (`open_csv`,
`open_xlsx`, `prepare_table`) share the deadline and the refusals; split, each would import the
other's internals.
"""

import codecs
import csv
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from pathlib import Path
from time import monotonic

from django.conf import settings

from operators.tabular.errors import RowError
from operators.tabular.progress import READING, ROWS, Progress
from operators.tabular.xlsx import XlsxRefused, sheet_rows

# Longer than any valid row of any kind (9 columns of at most ~64 characters);
# a longer line is refused without building a 10 MB string field by field.
MAX_LINE_CHARS = 64 * 1024
_SNIFF_BYTES = 64 * 1024
# In Windows-1251 text, 0xD0/0xD1 (Р, С) followed by 0x80-0xBF is practically
# never real Russian, but it is exactly how UTF-8 encodes Cyrillic letters:
# a file that is not valid UTF-8 and still has these is a mix of both.
_UTF8_CYRILLIC = re.compile(rb"[\xd0\xd1][\x80-\xbf]")
_ZIP_MAGIC = b"PK\x03\x04"


class FileRejected(Exception):
    """The file as a whole cannot be read; carries the error(s) for the report."""

    def __init__(self, code: str, *, row: int = 0, column: str = "", value: str = ""):
        super().__init__(code)
        self.error = RowError(row, column, value, code)


@dataclass
class Table:
    """A readable filing: its header and a one-shot iterator of (row number, cells)."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    # The same records without numbers (the first is row 2), for the hot loop;
    # it raises csv.Error where `rows` raises FileRejected. Use one or the other.
    records: Iterator[list[str]] | None = None
    decimal_comma: bool = False
    fmt: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    extra: dict = field(default_factory=dict)


def _longest_line(chunk: bytes, carry: int) -> tuple[int, int]:
    """Longest line seen in this chunk (counting the unfinished line carried in), and the new carry."""
    first = chunk.find(b"\n")
    if first < 0:
        return carry + len(chunk), carry + len(chunk)
    longest = max(carry + first, max(map(len, chunk[first + 1 :].split(b"\n"))))
    return longest, len(chunk) - chunk.rfind(b"\n") - 1


def time_budget(*, size_bytes: int, dry_run: bool = False) -> float:
    """Seconds one filing may take to read and validate: a base plus a share per MB of the file.

    A dry run answers a web request, so it is also held below the web server's timeout.
    """
    mb = max(size_bytes, 0) / (1024 * 1024)
    budget = settings.FILING_TIME_BUDGET_BASE_SECONDS + settings.FILING_TIME_BUDGET_SECONDS_PER_MB * mb
    budget = min(budget, settings.FILING_TIME_BUDGET_MAX_SECONDS)
    if dry_run:
        budget = min(budget, settings.FILING_DRY_RUN_MAX_SECONDS)
    return budget


class Deadline:
    """When a filing's time budget runs out; time spent waiting for a lock does not count."""

    def __init__(self, seconds: float):
        self.at = monotonic() + seconds

    @contextmanager
    def paused(self):
        start = monotonic()
        try:
            yield
        finally:
            self.at += monotonic() - start


def _check_deadline(deadline: Deadline | None, row: int = 0) -> None:
    if deadline is not None and monotonic() > deadline.at:
        raise FileRejected("file_time_budget_exceeded", row=row)


def _records(
    text, reader, deadline: Deadline | None, every: int = 4096, progress: Progress | None = None
) -> Iterator[list[str]]:
    """The reader's records, the file closed at the end; the deadline checked, and the progress
    advanced (lines read), every ``every`` records.

    ``yield from islice`` keeps the hot loop in C: no Python step per record (batches held
    in lists would cost more, in garbage collection, than the parsing itself).
    """
    try:
        if deadline is None and progress is None:
            yield from reader
            return
        while True:
            before = reader.line_num
            yield from islice(reader, every)
            if reader.line_num == before:
                return
            _check_deadline(deadline)
            if progress is not None:
                progress.advance(reader.line_num)
    finally:
        text.close()


def _scan(path: Path, deadline: Deadline | None = None, progress: Progress | None = None) -> tuple[str, int]:
    """One C-speed pass before parsing: the encoding, the number of lines, and no line longer than MAX_LINE_CHARS.

    UTF-8 if the whole file decodes as UTF-8, else Windows-1251 unless the file
    is a mix of both. Checking line length here lets the CSV reader read the
    file directly, with no per-line guard in the hot loop.
    """
    encoding = "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    carry = 0
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            encoding = "utf-8-sig"
        fh.seek(0)
        while chunk := fh.read(1 << 20):
            _check_deadline(deadline)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if progress is not None:
                progress.advance(lines)
            longest, carry = _longest_line(chunk, carry)
            if longest > MAX_LINE_CHARS * 4:  # bytes: a character is at most 4 of them
                raise FileRejected("line_too_long")
            if encoding == "utf-8":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "cp1251"
            if encoding == "cp1251" and _UTF8_CYRILLIC.search(chunk):
                raise FileRejected("mixed_encoding")
        if encoding == "utf-8":
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "cp1251"
        if encoding == "cp1251":
            # The chunks before the first invalid UTF-8 byte were not checked for a mix yet.
            fh.seek(0)
            while chunk := fh.read(1 << 20):
                if _UTF8_CYRILLIC.search(chunk):
                    raise FileRejected("mixed_encoding")
    return encoding, lines + (last != b"\n")


# How every error names a row, as the operator's spreadsheet numbers it: 0 is the file as a whole,
# the header is row 1, the first data record row 2 (blank rows are numbered too).
FILE_ROW = 0
HEADER_ROW = 1
FIRST_DATA_ROW = 2


def numbered(records, *, first_row: int = FIRST_DATA_ROW) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of each record: the one row numbering of the portal.

    A CSV syntax error is refused at the record it broke in (the one after the last read).
    The transfer register's COPY loop (outflows/ingest.py) numbers inline, by the same
    enumerate from FIRST_DATA_ROW, to spare ten million generator steps.
    """
    row_no = first_row - 1
    try:
        for row_no, cells in enumerate(records, first_row):
            yield row_no, cells
    except csv.Error as exc:
        raise FileRejected("csv_syntax", row=row_no + 1, value=str(exc)) from exc


def open_csv(
    path: Path, *, deadline: Deadline | None = None, delimiters: str = ",;", progress: Progress | None = None
) -> Table:
    """``delimiters``: the candidates, the header's most frequent one wins (ties: the first listed).

    ``progress``: the scan is its "reading" phase; the rows phase starts with the lines counted
    (an estimate of the rows: a quoted line break counts twice) and advances as records are read.
    """
    if progress is not None:
        progress.start(READING)
    encoding, lines = _scan(path, deadline, progress)
    text = open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed when the rows are exhausted
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        text.close()
        raise FileRejected("not_text") from exc
    if not first.strip():
        text.close()
        raise FileRejected("empty_file")
    delimiter = max(delimiters, key=first.count)
    try:
        header = next(csv.reader([first], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        text.close()
        raise FileRejected("csv_syntax", row=1, value=str(exc)) from exc
    # strict: a quote left open is an error, not a field that swallows the rest of the file.
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    if progress is not None:
        progress.start(ROWS, rows_total=max(lines - 1, 0))

    raw = _records(text, reader, deadline, progress=progress)
    return Table(
        header=[h.strip() for h in header],
        rows=numbered(raw),
        records=raw,
        decimal_comma=delimiter == ";",
        encoding=encoding,
        delimiter=delimiter,
    )


def _xlsx_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime):
        # Spreadsheets keep no time zone: an Excel date-time is naive and is
        # reported as "no offset", as it would be in a CSV.
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        # repr gives the shortest text that reads back as the same float (0.1, not 0.1000000000000000055).
        return format(Decimal(repr(value)), "f") if value == value else "nan"
    return str(value)


def _refused(exc: XlsxRefused) -> FileRejected:
    e = exc.error
    return FileRejected(e.code, row=e.row, column=e.column, value=e.value)


def open_xlsx(path: Path, *, deadline: Deadline | None = None) -> Table:
    """The first sheet, streamed by the bounded reader (operators/tabular/xlsx.py)."""
    values = sheet_rows(path, deadline=deadline.at if deadline is not None else None)
    try:
        first = next(values, None)
    except XlsxRefused as exc:
        raise _refused(exc) from exc
    if first is None or all(v is None for v in first):
        values.close()
        raise FileRejected("empty_file")
    header = [_xlsx_cell(v).strip() for v in first]
    while header and header[-1] == "":
        header.pop()
    width = len(header)

    def rows():
        try:
            for row_no, row in enumerate(values, FIRST_DATA_ROW):
                cells = [_xlsx_cell(v) for v in row]
                # A sheet's used range is often wider than the header: drop empty trailing cells;
                # a sheet leaves empty cells out: a shorter row is padded to the header.
                while len(cells) > width and cells[-1] == "":
                    cells.pop()
                if cells and len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                yield row_no, cells
        except XlsxRefused as exc:
            raise _refused(exc) from exc
        finally:
            values.close()

    def records():
        for _row_no, cells in rows():
            yield cells

    return Table(header=header, rows=rows(), records=records(), fmt="xlsx")


def _sniff(path: Path) -> str:
    """The format, "xlsx" or "csv"; FileRejected for an empty or binary file."""
    if path.stat().st_size == 0:
        raise FileRejected("empty_file")
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(b"%PDF") or b"\x00" in head:
        raise FileRejected("not_text")
    if not head.strip():
        raise FileRejected("empty_file")
    return "csv"


def open_table(path: Path, *, deadline: Deadline | None = None, delimiters: str = ",;") -> Table:
    """Open a stored filing; FileRejected when it cannot be read as a table at all.

    Filings are separated by `,` or `;` (DESIGN section 3); the registry import also allows a tab.
    """
    path = Path(path)
    if _sniff(path) == "xlsx":
        return open_xlsx(path, deadline=deadline)
    return open_csv(path, deadline=deadline, delimiters=delimiters)


class Source:
    """A filing made ready to import: ``table()`` gives a pass over its rows (again for each call),
    or ``rejected`` says why it cannot be read."""

    def __init__(
        self, *, deadline: Deadline | None, first: Table | None = None, reopen=None, rejected: RowError | None = None
    ):
        self.deadline = deadline
        self._first = first
        self._reopen = reopen
        self.rejected = rejected

    def table(self) -> Table:
        if self._first is not None:
            table, self._first = self._first, None
            return table
        return self._reopen()


def _converted(
    path: Path, header: list[str], deadline: Deadline | None, progress: Progress | None = None, rows: int = 0
) -> Table:
    text = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed when the rows are exhausted
    if progress is not None:
        progress.start(ROWS, rows_total=rows)

    raw = _records(text, csv.reader(text, strict=True), deadline, progress=progress)
    return Table(header=header, rows=numbered(raw), records=raw, fmt="xlsx")


@contextmanager
def prepare_table(path: Path, *, budget: float | None = None, progress: Progress | None = None) -> Iterator[Source]:
    """Phase one of an intake, run before any lock is taken: everything that can be slow or hostile.

    CSV: the encoding and line-length scan (the rows are read in phase two, by the
    import's own single pass). XLSX: the first sheet is read once, with every cap
    and the time budget, into a temporary CSV that phase two reads at C speed; a
    hostile workbook is refused here, holding nothing. ``progress`` follows both phases.
    """
    path = Path(path)
    deadline = Deadline(budget) if budget is not None else None
    try:
        if _sniff(path) == "csv":
            first = open_csv(path, deadline=deadline, progress=progress)
            source = Source(
                deadline=deadline,
                first=first,
                reopen=lambda: open_csv(path, deadline=deadline, progress=progress),
            )
        else:
            source = None
    except FileRejected as exc:
        source = Source(deadline=deadline, rejected=exc.error)
    if source is not None:
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="intake-") as tmp:
        rows_path = Path(tmp) / "rows.csv"
        written = 0
        try:
            if progress is not None:
                progress.start(READING)
            table = open_xlsx(path, deadline=deadline)
            with open(rows_path, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\n")
                for written, cells in enumerate(table.records, 1):
                    writer.writerow(cells)
                    if progress is not None and not written % 4096:
                        progress.advance(written)
        except FileRejected as exc:
            source = Source(deadline=deadline, rejected=exc.error)
        else:
            header = table.header
            source = Source(
                deadline=deadline, reopen=lambda: _converted(rows_path, header, deadline, progress, written)
            )
        yield source
