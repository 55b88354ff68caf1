"""Reading a registry file (supervisors) through the filing intake's bounded reader (issue 14).

`manage.py import_operators`, `registry_import` and the admin's import form all
read the file here, so a hostile XLSX (a far cell, a shared-strings bomb, a zip
bomb, a huge sheet) is refused with the intake's own codes before tablib or
openpyxl ever see it, and CSV is read as filings are: UTF-8 (with or without
BOM) or Windows-1251, separated by `,`, `;` or a tab. The format is told by the
content (an XLSX is a zip), not by the file's name.
"""

import re
import tempfile
from pathlib import Path

import tablib
from django.conf import settings

from operators.resources import registry_header_problems
from operators.tabular.errors import RowError
from operators.tabular.reader import Deadline, FileRejected, open_table, time_budget

REGISTRY_DELIMITERS = ",;\t"
REGISTRY_DATE_COLUMNS = ("htp_certificate_valid_until", "htp_registered_on")
# A date cell of a sheet is read as a date-time at midnight; the registry's dates are dates.
_MIDNIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})T00:00:00")


class RegistryFileRefused(Exception):
    """The registry file cannot be imported as it is; carries every error found."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in errors[:5]))
        self.errors = errors


def registry_max_upload_bytes() -> int:
    return int(getattr(settings, "REGISTRY_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


def registry_dataset(*, content: bytes) -> tablib.Dataset:
    """The registry file as a tablib Dataset (registry_table without the row numbers)."""
    return registry_table(content=content)[0]


def registry_table(*, content: bytes) -> tuple[tablib.Dataset, list[int]]:
    """The registry file as a tablib Dataset of text cells, its header stripped and blank rows left out,
    and the spreadsheet row number of each of its rows (operators.tabular.reader.numbered).

    Raises RegistryFileRefused with the errors: the file as a whole (the intake's codes,
    e.g. `xlsx_dimension_too_large`, `not_text`, `mixed_encoding`), the header (`header`),
    or every row whose number of cells differs from the header's (`columns`).
    """
    if len(content) > registry_max_upload_bytes():
        raise RegistryFileRefused([RowError(0, "", "", "file_too_large")])
    deadline = Deadline(time_budget(size_bytes=len(content), dry_run=True))
    with tempfile.TemporaryDirectory(prefix="registry-") as folder:
        path = Path(folder) / "registry"
        path.write_bytes(content)
        try:
            table = open_table(path, deadline=deadline, delimiters=REGISTRY_DELIMITERS)
            header, rows, fmt = table.header, list(table.rows), table.fmt
        except FileRejected as exc:
            raise RegistryFileRefused([exc.error]) from exc
    problems = registry_header_problems(header)
    if problems:
        raise RegistryFileRefused([RowError(1, "", "", "header", p) for p in problems])
    body = [(number, cells) for number, cells in rows if any(cell.strip() for cell in cells)]
    ragged = [
        RowError(
            number,
            "",
            "",
            "columns",
            f"ожидалось {len(header)} значений, получено {len(cells)} / expected {len(header)} values",
        )
        for number, cells in body
        if len(cells) != len(header)
    ]
    if ragged:
        raise RegistryFileRefused(ragged)
    if fmt == "xlsx":
        dates = [i for i, name in enumerate(header) if name in REGISTRY_DATE_COLUMNS]
        for _number, cells in body:
            for i in dates:
                midnight = _MIDNIGHT.fullmatch(cells[i])
                if midnight:
                    cells[i] = midnight.group(1)
    dataset = tablib.Dataset(*(cells for _number, cells in body), headers=header)
    return dataset, [number for number, _cells in body]
