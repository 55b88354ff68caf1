"""Reading an uploaded filing as rows of strings, whatever the operator's spreadsheet saved.

CSV: UTF-8 (with or without BOM) or Windows-1251, delimiter `,` or `;`
(detected from the header), CRLF or LF. XLSX: the first sheet, read-only and
streamed, refused by its declared uncompressed size before anything is read.
Rows are numbered as the operator's spreadsheet numbers them: the header is
row 1, and each CSV record (even one with a quoted line break) is one row.
"""

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from operators.intake.errors import RowError

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


def _xlsx_limits() -> tuple[int, int]:
    total = getattr(settings, "FILING_XLSX_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024)
    shared = getattr(settings, "FILING_XLSX_MAX_SHARED_STRINGS_BYTES", 256 * 1024 * 1024)
    return total, shared


def _longest_line(chunk: bytes, carry: int) -> tuple[int, int]:
    """Longest line seen in this chunk (counting the unfinished line carried in), and the new carry."""
    first = chunk.find(b"\n")
    if first < 0:
        return carry + len(chunk), carry + len(chunk)
    longest = max(carry + first, max(map(len, chunk[first + 1 :].split(b"\n"))))
    return longest, len(chunk) - chunk.rfind(b"\n") - 1


def _scan(path: Path) -> str:
    """One C-speed pass before parsing: the encoding, and no line longer than MAX_LINE_CHARS.

    UTF-8 if the whole file decodes as UTF-8, else Windows-1251 unless the file
    is a mix of both. Checking line length here lets the CSV reader read the
    file directly, with no per-line guard in the hot loop.
    """
    encoding = "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    carry = 0
    with open(path, "rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            encoding = "utf-8-sig"
        fh.seek(0)
        while chunk := fh.read(1 << 20):
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
    return encoding


def _numbered(records, first_row: int = 2) -> Iterator[tuple[int, list[str]]]:
    row_no = first_row - 1
    try:
        for cells in records:
            row_no += 1
            yield row_no, cells
    except csv.Error as exc:
        raise FileRejected("csv_syntax", row=row_no + 1, value=str(exc)) from exc


def open_csv(path: Path) -> Table:
    encoding = _scan(path)
    text = open(path, encoding=encoding, newline="")  # noqa: SIM115 - closed when the rows are exhausted
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        text.close()
        raise FileRejected("not_text") from exc
    if not first.strip():
        text.close()
        raise FileRejected("empty_file")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        header = next(csv.reader([first], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        text.close()
        raise FileRejected("csv_syntax", row=1, value=str(exc)) from exc
    # strict: a quote left open is an error, not a field that swallows the rest of the file.
    reader = csv.reader(text, delimiter=delimiter, strict=True)

    def records():
        try:
            yield from reader
        finally:
            text.close()

    raw = records()
    return Table(
        header=[h.strip() for h in header],
        rows=_numbered(raw),
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


def open_xlsx(path: Path) -> Table:
    total_limit, shared_limit = _xlsx_limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected("bad_xlsx") from exc
    # Declared sizes are checked before a single byte is inflated; a lying
    # header makes zipfile itself stop at the declared size (it checks CRCs).
    declared = sum(i.file_size for i in infos)
    shared = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
    if declared > total_limit or shared > shared_limit:
        raise FileRejected("xlsx_too_large", value=str(declared))
    from openpyxl import load_workbook

    # A file object, not the path: the stored name has no extension, and openpyxl judges paths by it.
    fh = open(path, "rb")  # noqa: SIM115 - closed with the workbook
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        first = next(it, None)
    except Exception as exc:
        fh.close()
        raise FileRejected("bad_xlsx") from exc
    if first is None or all(v is None for v in first):
        wb.close()
        fh.close()
        raise FileRejected("empty_file")
    header = [_xlsx_cell(v).strip() for v in first]
    while header and header[-1] == "":
        header.pop()

    def rows():
        row_no = 1
        try:
            for values in it:
                row_no += 1
                cells = [_xlsx_cell(v) for v in values]
                # A sheet's used range is often wider than the header: drop empty trailing cells.
                while len(cells) > len(header) and cells[-1] == "":
                    cells.pop()
                yield row_no, cells
        except FileRejected:
            raise
        except Exception as exc:
            raise FileRejected("bad_xlsx", row=row_no + 1) from exc
        finally:
            wb.close()
            fh.close()

    def records():
        for _row_no, cells in rows():
            yield cells

    return Table(header=header, rows=rows(), records=records(), fmt="xlsx")


def open_table(path: Path) -> Table:
    """Open a stored filing; FileRejected when it cannot be read as a table at all."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("empty_file")
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(_ZIP_MAGIC):
        return open_xlsx(path)
    if head.startswith(b"%PDF") or b"\x00" in head:
        raise FileRejected("not_text")
    if not head.strip():
        raise FileRejected("empty_file")
    return open_csv(path)
