"""Downloads of what a page shows, in the form a Russian accountant's spreadsheet opens (issue 16, item 6).

One writer for every page export (transfers, flags, registry, queue, stats, dossier); the audited
download around it is auditlog.exports.export_download. Public API (keep stable, the dry-run error
report of the intake may use it too):

    Column(title, width=..., places=..., percent=...)   title: a Russian msgid (gettext_lazy)
    csv_stream(columns=..., rows=..., language=...)      -> iterator of str chunks
    xlsx_file(columns=..., rows=..., sheet=..., language=...) -> a temporary binary file, at 0
    export_response(columns=..., rows=..., fmt=..., filename=..., sheet=...) -> a streaming response

Values are written by their Python type, not as text:
- CSV for ru and be: `;` between cells, decimal comma ("1234,56", no thousands separator, so
  Excel reads a number), dates dd.mm.yyyy, times dd.mm.yyyy HH:MM:SS in Europe/Minsk without an
  offset, UTF-8 with a BOM; the header row in the reader's language.
- CSV for en: `,` and dot decimals, ISO dates (yyyy-mm-dd, yyyy-mm-dd HH:MM:SS, Minsk time), UTF-8
  with a BOM as well (Excel then reads Cyrillic names right).
- XLSX (openpyxl write_only, rows streamed to a temporary file, memory bounded): numbers as numbers
  (money with `#,##0.00`), dates and times as dates (Europe/Minsk, naive), a named sheet, a bold
  frozen header row and column widths.
Every text cell (titles included) goes through config.spreadsheets.safe_cell, the one
formula-escaping helper.
"""

import csv
import datetime
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.http import FileResponse, Http404, StreamingHttpResponse
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from config.spreadsheets import safe_cell

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COMMA_LANGUAGES = ("ru", "be")  # `;` and a decimal comma; every other language `,` and a dot
SHEET_NAME_MAX = 31  # Excel's limit
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


@dataclass(frozen=True)
class Column:
    """One column of an export. `title` is a Russian msgid (translated when written); `places` the
    decimals of its numbers (None: as many as the value has); `percent` a share 0..1 (XLSX: a
    percentage; CSV: per cent, e.g. 48,5)."""

    title: object
    width: int = 16
    places: int | None = None
    percent: bool = False


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    decimal: str
    date: str
    datetime: str

    @classmethod
    def for_language(cls, language: str | None) -> "Dialect":
        if (language or "ru").split("-")[0] in COMMA_LANGUAGES:
            return cls(";", ",", "%d.%m.%Y", "%d.%m.%Y %H:%M:%S")
        return cls(",", ".", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")


def local_naive(value: datetime.datetime) -> datetime.datetime:
    """A moment in Europe/Minsk (the portal's TIME_ZONE) without its offset; naive values unchanged."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None)


def _number_text(value, column: Column, decimal: str) -> str:
    if isinstance(value, float):
        value = Decimal(repr(value))
    if column.percent:
        value = value * 100
        text = f"{value:.1f}" if column.places is None else f"{value:.{column.places}f}"
    elif column.places is not None:
        text = f"{value:.{column.places}f}"
    else:
        text = format(value.normalize(), "f")
    return text.replace(".", decimal)


def csv_cell(value, column: Column, dialect: Dialect) -> str:
    """One value as CSV text in the reader's dialect (formula-escaped when it is text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return _number_text(value, column, dialect.decimal)
    if isinstance(value, datetime.datetime):
        return local_naive(value).strftime(dialect.datetime)
    if isinstance(value, datetime.date):
        return value.strftime(dialect.date)
    return safe_cell(str(value))


def _yes_no(value: bool) -> str:
    return translation.gettext("да") if value else translation.gettext("нет")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(*, columns: Sequence[Column], rows: Iterable[Sequence], language: str | None = None) -> Iterator[str]:
    """The CSV as text chunks: a BOM and the translated header first, then the rows, 500 a chunk."""
    language = language or translation.get_language()
    dialect = Dialect.for_language(language)
    writer = csv.writer(_Echo(), delimiter=dialect.delimiter, lineterminator="\r\n")
    with translation.override(language):
        yield "\ufeff" + writer.writerow([safe_cell(str(c.title)) for c in columns])
        chunk = []
        for row in rows:
            chunk.append(writer.writerow([csv_cell(v, c, dialect) for v, c in zip(row, columns, strict=False)]))
            if len(chunk) >= 500:
                yield "".join(chunk)
                chunk = []
        if chunk:
            yield "".join(chunk)


def _number_format(value, column: Column) -> str | None:
    if column.percent:
        return "0.0%"
    if isinstance(value, int):
        return "#,##0" if abs(value) >= 10000 else None
    if column.places == 2:
        return "#,##0.00"
    if column.places is not None:
        return "#,##0." + "0" * column.places if column.places else "#,##0"
    return None


def _xlsx_cell(ws, value, column: Column):
    if value is None:
        return None
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int | Decimal | float):
        fmt = _number_format(value, column)
        if fmt is None:
            return value
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = fmt
        return cell
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(ws, value=local_naive(value))
        cell.number_format = "DD.MM.YYYY HH:MM:SS"
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "DD.MM.YYYY"
        return cell
    return safe_cell(str(value))


def sheet_title(name: object) -> str:
    """A valid sheet name: the characters Excel refuses replaced, at most 31 characters."""
    text = str(name).translate(_SHEET_FORBIDDEN).strip("' ") or "Sheet"
    return text[:SHEET_NAME_MAX]


def xlsx_file(*, columns: Sequence[Column], rows: Iterable[Sequence], sheet: object, language: str | None = None):
    """The workbook in a temporary file (deleted when closed), positioned at its start."""
    language = language or translation.get_language()
    with translation.override(language):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet_title(sheet))
        ws.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = column.width
        bold = Font(bold=True)
        header = []
        for column in columns:
            cell = WriteOnlyCell(ws, value=safe_cell(str(column.title)))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in rows:
            ws.append([_xlsx_cell(ws, v, c) for v, c in zip(row, columns, strict=False)])
        out = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes (and so deletes) it
        wb.save(out)
    out.seek(0)
    return out


def export_response(
    *,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    fmt: str,
    filename: str,
    sheet: object,
    language: str | None = None,
):
    """The download: CSV streamed as it is written, XLSX from its temporary file. 404 for another format."""
    if fmt not in FORMATS:
        raise Http404
    language = language or translation.get_language()
    if fmt == "csv":
        response = StreamingHttpResponse(
            (chunk.encode("utf-8") for chunk in csv_stream(columns=columns, rows=rows, language=language)),
            content_type="text/csv; charset=utf-8",
        )
    else:
        response = FileResponse(xlsx_file(columns=columns, rows=rows, sheet=sheet, language=language))
        response["Content-Type"] = XLSX_TYPE
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
