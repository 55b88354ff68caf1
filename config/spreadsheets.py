"""Spreadsheet safety shared by every export (CSV/XLSX) of the portal.

A cell that starts with = + - @, a tab or a carriage return is read as a
formula by spreadsheet programs (CSV injection). Such text gets a leading
apostrophe, which spreadsheets show as plain text. Control characters that
XLSX (XML 1.0) cannot hold are written as their Unicode pictures (NUL as ␀):
openpyxl would refuse the whole file (IllegalCharacterError, a 500).
"""

import io

import tablib
from django.http import Http404, HttpResponse
from import_export.formats import base_formats
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _picture(match) -> str:
    return chr(0x2400 + ord(match.group()))


def visible(text: str) -> str:
    """Control characters XLSX (XML 1.0) and PostgreSQL text cannot hold (C0 but tab, LF, CR) as their
    Unicode pictures (NUL as ␀, ESC as ␛). One character for one; applying it twice changes nothing."""
    return ILLEGAL_CHARACTERS_RE.sub(_picture, text)


def safe_cell(value):
    """Neutralise one cell value, the one formula-escaping helper of every export; non-text values pass unchanged."""
    if not isinstance(value, str):
        return value
    value = visible(value)
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


class _SafeMixin:
    def _escape_formulae(self, dataset):
        rows = [[safe_cell(cell) for cell in row] for row in dataset]
        del dataset[:]
        for row in rows:
            dataset.append(row)


class SafeCSV(_SafeMixin, base_formats.CSV):
    pass


class SafeXLSX(_SafeMixin, base_formats.XLSX):
    pass


def export_response(*, headers: list[str], rows, fmt: str, filename: str, sheet: str = "Лист1"):
    """A CSV (`,`, UTF-8 with BOM, so spreadsheets detect it) or XLSX download, every cell neutralised.

    Kept for files in a filer's own template (the dry-run error report). Page exports use
    config/exports.py (the reader's CSV dialect, typed XLSX cells) through auditlog.exports.
    XLSX: openpyxl write-only, sheet `sheet`, the header row bold and frozen; numbers stay numbers.
    """
    if fmt not in ("csv", "xlsx"):
        raise Http404
    if fmt == "csv":
        dataset = tablib.Dataset(headers=headers)
        for row in rows:
            dataset.append([safe_cell(cell) for cell in row])
        response = HttpResponse("\ufeff" + dataset.export("csv"), content_type="text/csv; charset=utf-8")
    else:
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(str(sheet)[:31])
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        titles = []
        for title in headers:
            cell = WriteOnlyCell(ws, value=safe_cell(str(title)))
            cell.font = bold
            titles.append(cell)
        ws.append(titles)
        for row in rows:
            ws.append([safe_cell(cell) for cell in row])
        out = io.BytesIO()
        wb.save(out)
        response = HttpResponse(
            out.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
