"""Writes to the operator registry (supervisors): import and status changes.

Every change of an operator's status goes through `operator_status_change`, so
the history (who, when, from, to, why) is never skipped.
"""

import csv
import io
from dataclasses import dataclass, field

import tablib
from django.contrib.auth.models import User
from django.db import transaction

from operators.models import Operator, OperatorStatusChange
from operators.resources import (
    OperatorResource,
    registry_duplicate_unps,
    registry_header_problems,
)


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    value: str
    code: str
    message: str


@dataclass
class RegistryImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _load_dataset(content: bytes, file_format: str) -> tablib.Dataset | list[RowError]:
    if file_format == "xlsx":
        try:
            return tablib.Dataset().load(content, format="xlsx")
        except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a bad file
            return [RowError(0, "", "", "unreadable", "Файл XLSX не читается / The XLSX file cannot be read")]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [RowError(0, "", "", "encoding", "Файл реестра должен быть в UTF-8 / The registry file must be UTF-8")]
    if "\x00" in text:
        return [RowError(0, "", "", "binary", "Файл не является текстом CSV / The file is not CSV text")]
    if not text.strip():
        return [RowError(0, "", "", "empty", "Файл пуст / The file is empty")]
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], [r for r in rows[1:] if any(cell.strip() for cell in r)]
    problems = registry_header_problems(header)
    if problems:
        return [RowError(1, "", "", "header", p) for p in problems]
    ragged = [
        RowError(
            n, "", "", "columns", f"ожидалось {len(header)} значений, получено {len(r)} / expected {len(header)} values"
        )
        for n, r in enumerate(body, start=2)
        if len(r) != len(header)
    ]
    if ragged:
        return ragged
    return tablib.Dataset(*body, headers=header)


def _format_errors(dataset: tablib.Dataset, result) -> list[RowError]:
    errors: list[RowError] = []
    for invalid in result.invalid_rows:
        row_no = invalid.number + 1
        for column, messages in invalid.field_specific_errors.items():
            value = ""
            if column in (dataset.headers or []) and invalid.number - 1 < len(dataset):
                value = str(dataset[invalid.number - 1][dataset.headers.index(column)] or "")
            for message in messages:
                errors.append(RowError(row_no, column, value, "invalid", str(message)))
        for message in invalid.non_field_specific_errors:
            errors.append(RowError(row_no, "", "", "invalid", str(message)))
    for number, row_errors in result.row_errors():
        for error in row_errors:
            errors.append(RowError(number + 1, "", "", "invalid", str(error.error)))
    return sorted(errors, key=lambda e: (e.row, e.column))


def registry_import(*, content: bytes, file_format: str = "csv", user: User | None = None) -> RegistryImportResult:
    """Create or update registry entries from a registry file. All or nothing.

    Every bad row is reported (row, column, value, message); when there is any,
    nothing is written. Transactional; supervisors only (callers check).
    """
    loaded = _load_dataset(content, file_format)
    if isinstance(loaded, list):
        return RegistryImportResult(errors=loaded)
    dataset = loaded
    header_problems = registry_header_problems(dataset.headers or [])
    if header_problems:
        return RegistryImportResult(errors=[RowError(1, "", "", "header", p) for p in header_problems])
    if len(dataset) == 0:
        return RegistryImportResult(errors=[RowError(0, "", "", "empty", "Нет строк данных / No data rows")])

    errors: list[RowError] = []
    duplicates = registry_duplicate_unps(dataset["unp"])
    for index, unp in enumerate(dataset["unp"], start=2):
        if (unp or "").strip() in duplicates:
            errors.append(RowError(index, "unp", unp, "duplicate_unp", "УНП повторяется в файле / duplicate UNP"))
    if errors:
        return RegistryImportResult(errors=errors)

    resource = OperatorResource(user=user)
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=True, raise_errors=False, use_transactions=True)
        errors = _format_errors(dataset, result)
        if errors or result.has_errors():
            return RegistryImportResult(errors=errors)
        result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    totals = result.totals
    return RegistryImportResult(created=totals.get("new", 0), updated=totals.get("update", 0))


def operator_status_change(*, operator: Operator, to_status: str, user: User | None, reason: str) -> Operator:
    """Change an operator's status and record who, when, from, to and why. Supervisors only."""
    with transaction.atomic():
        operator = Operator.objects.select_for_update().get(pk=operator.pk)
        if operator.status == to_status:
            return operator
        OperatorStatusChange.objects.create(
            operator=operator, from_status=operator.status, to_status=to_status, changed_by=user, reason=reason
        )
        operator.status = to_status
        operator.save(update_fields=["status", "updated_at"])
    return operator
