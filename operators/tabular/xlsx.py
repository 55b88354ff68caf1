"""The first sheet of an XLSX workbook, streamed with every size capped before and while reading (issue 14).

The package, its parts and the shared strings are checked first by
operators/tabular/xlsx_package.py (why openpyxl is not used, and those caps,
are told there). Then the sheet is streamed with expat, refused the moment it
passes a cap: the declared ``<dimension>``, every row and cell reference, the
number of cells, each cell's length, and the deadline, all while streaming.

The values are those openpyxl gives read-only with ``data_only``: cached formula
results, shared and inline strings, booleans, numbers as int or float, and
numbers in a date style as dates (openpyxl's own number-format rules).
"""

import time
import zipfile
from collections.abc import Iterator
from xml.parsers import expat

from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from operators.tabular.xlsx_package import (
    CHUNK,
    DIGITS,
    MAX_CELL_CHARS,
    MAX_RUN_BYTES,
    Workbook,
    XlsxLimits,
    XlsxRefused,
    check_deadline,
    check_entry_count,
    check_ref,
    column_number,
    longest_run,
    new_parser,
)

__all__ = ["MAX_CELL_CHARS", "MAX_RUN_BYTES", "XlsxLimits", "XlsxRefused", "check_deadline", "sheet_rows"]


def _cast_number(text: str):
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def sheet_rows(path, *, limits: XlsxLimits | None = None, deadline: float | None = None) -> Iterator[list]:
    """The first sheet's rows as lists of values (None for an empty cell), one per spreadsheet row from 1.

    A row missing from the file is an empty list. Raises XlsxRefused, at once,
    when the workbook passes a cap or cannot be read.
    """
    limits = limits or XlsxLimits.from_settings()
    check_entry_count(path, limits)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise XlsxRefused("bad_xlsx") from exc
    try:
        yield from _read_sheet(zf, limits, deadline)
    except XlsxRefused:
        raise
    except (zipfile.BadZipFile, expat.ExpatError, ValueError, IndexError, KeyError, OSError, EOFError) as exc:
        raise XlsxRefused("bad_xlsx", value=str(exc)[:200]) from exc
    except Exception as exc:  # defusedxml's and zlib's own kinds of a damaged file
        raise XlsxRefused("bad_xlsx", value=type(exc).__name__) from exc
    finally:
        zf.close()


def _read_sheet(zf: zipfile.ZipFile, limits: XlsxLimits, deadline: float | None) -> Iterator[list]:
    book = Workbook(zf, limits)
    sheet_path, strings_path, styles_path, date1904 = book.first_sheet()
    sheet = book.member(sheet_path)
    if sheet is None:
        raise XlsxRefused("bad_xlsx")
    strings_info = book.member(strings_path) if strings_path else None
    book.check_declared(sheet, strings_info)
    dates, durations = book.styles(styles_path)
    strings = book.shared_strings(strings_info, deadline)
    epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
    max_rows, max_columns, max_cells = limits.max_rows, limits.max_columns, limits.max_cells
    done: list[tuple[int, list]] = []
    parts: list[str] = []
    # One mutable record of the parser's position (closures below update it; attribute access is cheap).
    s = _State()

    def start(name, attrs):
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            s.cells += 1
            if s.cells > max_cells:
                raise XlsxRefused("xlsx_too_many_cells", row=s.row, value=f">{max_cells}")
            ref = attrs.get("r")
            if ref:
                letters = ref.rstrip(DIGITS)
                col = _COLUMNS.get(letters) or (column_number(letters) if len(letters) < 4 else max_columns + 1)
            else:
                col = s.col + 1
            if col > max_columns:
                raise XlsxRefused("xlsx_dimension_too_large", row=s.row, value=(ref or f"column {col}")[:40])
            s.col = col
            s.kind = attrs.get("t", "n")
            style = attrs.get("s")
            s.style = int(style) if style else 0
            s.inline = False
        elif name == "v":
            if s.kind != "inlineStr":
                parts.clear()
                s.chars = 0
                s.collect = True
        elif name == "row":
            ref = attrs.get("r")
            row = int(ref) if ref else s.row + 1
            if row > max_rows:
                raise XlsxRefused("xlsx_dimension_too_large", row=row, value=str(row))
            if row <= s.row:
                raise XlsxRefused("bad_xlsx", row=row, value="rows out of order")
            s.row = row
            s.col = 0
            s.cells_row = []
            if deadline is not None and time.monotonic() > deadline:
                raise XlsxRefused("file_time_budget_exceeded", row=row)
        elif name == "is":
            s.inline = True
            parts.clear()
            s.chars = 0
        elif name == "t":
            s.collect = s.inline and not s.phonetic
        elif name == "rPh":
            s.phonetic += 1
        elif name == "dimension":
            check_ref(attrs.get("ref", ""), limits)

    def end(name):
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            value = _value(s, parts, strings, dates, durations, epoch) if s.inline or s.kind != "inlineStr" else None
            if s.cells_row is None:
                raise XlsxRefused("bad_xlsx", value="cell outside a row")
            cells = s.cells_row
            gap = s.col - len(cells) - 1
            if gap >= 0:
                if gap:
                    cells.extend([None] * gap)
                cells.append(value)
            else:
                cells[s.col - 1] = value
            parts.clear()
            s.got_v = False
        elif name == "v" or name == "t":
            if s.collect:
                s.got_v = True
            s.collect = False
        elif name == "row":
            done.append((s.row, s.cells_row))
            s.cells_row = None
        elif name == "rPh":
            s.phonetic -= 1

    def text(data):
        if s.collect:
            parts.append(data)
            s.chars += len(data)
            if s.chars > MAX_CELL_CHARS:
                raise XlsxRefused("too_long", row=s.row, column=_letters(s.col), value=data[:40])

    parser = new_parser({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text})
    next_row = 1
    inflated = 0
    run = 0
    with zf.open(sheet) as fh:
        while True:
            chunk = fh.read(CHUNK)
            inflated += len(chunk)
            if inflated > limits.max_inflated_bytes:
                raise XlsxRefused("xlsx_inflated_too_large", value=str(inflated))
            longest, run = longest_run(chunk, run)
            if longest > MAX_RUN_BYTES:
                raise XlsxRefused("xlsx_inflated_too_large", row=s.row, value="a run without '>'")
            parser.Parse(chunk, not chunk)
            check_deadline(deadline)
            for row, cells in done:
                while next_row < row:
                    next_row += 1
                    yield []
                next_row = row + 1
                yield cells
            done.clear()
            if not chunk:
                return


class _State:
    __slots__ = ("cells", "cells_row", "chars", "col", "collect", "got_v", "inline", "kind", "phonetic", "row", "style")

    def __init__(self):
        self.cells = self.row = self.col = self.style = self.chars = self.phonetic = 0
        self.kind = "n"
        self.inline = self.collect = self.got_v = False
        self.cells_row: list | None = None


def _value(s: _State, parts: list[str], strings, dates, durations, epoch):
    """A cell's value as openpyxl (read-only, data_only) would give it."""
    if s.inline:
        return "".join(parts)
    text = "".join(parts) if s.got_v else ""
    if not text:
        return None
    kind = s.kind
    if kind == "n":
        number = _cast_number(text)
        if s.style in dates:
            try:
                return from_excel(number, epoch, timedelta=s.style in durations)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "s":
        return strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        return from_ISO8601(text)
    return text  # "str" (a formula's text result), "e" (an error such as #N/A)


def _letters(col: int) -> str:
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


_COLUMNS = {_letters(i): i for i in range(1, 703)}
