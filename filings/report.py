"""A file's error report in the filer's own template: its header and bad rows as they were, plus `errors`.

Used for a dry run's report (filings/upload_views.py), which files nothing; each errors cell
starts with the spreadsheet row number and gives every problem of that row in the reader's
language (Russian, or English on English pages), with the error code.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

from django.utils.translation import gettext

from operators.tabular.errors import RowError
from operators.tabular.reader import FileRejected, open_table


def _message(error: RowError) -> str:
    where = f"{error.column}: " if error.column else ""
    return f"{where}{error.in_language()} [{error.code}]"


def _where(row_no: int) -> str:
    return gettext("строка %(n)s: ") % {"n": row_no}


def report_rows(*, errors: Iterable[RowError], path: Path | None) -> tuple[list[str], Iterator[list[str]], dict]:
    """(header, rows, info): the file's own columns plus "errors", one row per bad row, file-wide errors
    first; info is the file's encoding and delimiter (the filing's report is written back in them)."""
    by_row: dict[int, list[str]] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(_message(error))
    try:
        table = open_table(path) if path is not None else None
    except (FileRejected, OSError):
        table = None
    header = list(table.header) if table is not None else []
    info = {"encoding": "utf-8", "delimiter": ","}
    if table is not None:
        info = {"encoding": table.encoding, "delimiter": table.delimiter}

    def rows() -> Iterator[list[str]]:
        for row_no in (0, 1):  # the file as a whole, its header
            if row_no in by_row:
                yield [""] * len(header) + [_where(row_no) + "; ".join(by_row.pop(row_no))]
        if table is not None and by_row:
            try:
                for row_no, cells in table.rows:
                    if row_no in by_row:
                        padded = [*cells[: len(header)], *([""] * (len(header) - len(cells)))]
                        yield [*padded, _where(row_no) + "; ".join(by_row.pop(row_no))]
                        if not by_row:
                            break
            except FileRejected:
                pass
        for row_no in sorted(by_row):
            yield [""] * len(header) + [_where(row_no) + "; ".join(by_row[row_no])]

    return [*header, "errors"], rows(), info
