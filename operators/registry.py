"""Writes to the operator registry (supervisors): import and status changes.

Every change of an operator's status goes through `operator_status_change`, so
the history (who, when, from, to, why) is never skipped.
"""

from dataclasses import dataclass, field

import tablib
from django.contrib.auth.models import User
from django.db import transaction

from operators.models import Operator, OperatorStatusChange
from operators.registry_file import RegistryFileRefused, registry_table
from operators.resources import OperatorResource, registry_duplicate_unps
from operators.tabular.errors import RowError

__all__ = ["RegistryImportResult", "RowError", "operator_status_change", "registry_import"]


@dataclass
class RegistryImportResult:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _format_errors(dataset: tablib.Dataset, result, numbers: list[int]) -> list[RowError]:
    """import-export's errors, each at its spreadsheet row (``numbers``: the row of each dataset row)."""

    def row_of(number: int) -> int:  # import-export counts the dataset's rows from 1
        return numbers[number - 1] if 0 < number <= len(numbers) else number + 1

    errors: list[RowError] = []
    for invalid in result.invalid_rows:
        row_no = row_of(invalid.number)
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
            errors.append(RowError(row_of(number), "", "", "invalid", str(error.error)))
    return sorted(errors, key=lambda e: (e.row, e.column))


def registry_import(
    *, content: bytes, file_format: str | None = None, user: User | None = None
) -> RegistryImportResult:
    """Create or update registry entries from a registry file. All or nothing.

    The file is read by the filing intake's bounded reader (operators/registry_file.py):
    XLSX or CSV as told by its content (``file_format``, the name's hint, is not needed).
    Every bad row is reported (row, column, value, message); when there is any,
    nothing is written. Transactional; supervisors only (callers check).
    """
    del file_format  # kept for callers that still pass it: the content decides
    try:
        dataset, numbers = registry_table(content=content)
    except RegistryFileRefused as refused:
        return RegistryImportResult(errors=refused.errors)
    if len(dataset) == 0:
        return RegistryImportResult(errors=[RowError(0, "", "", "empty", "Нет строк данных / No data rows")])

    errors: list[RowError] = []
    duplicates = registry_duplicate_unps(dataset["unp"])
    for row_no, unp in zip(numbers, dataset["unp"], strict=True):
        if (unp or "").strip() in duplicates:
            errors.append(RowError(row_no, "unp", unp, "duplicate_unp", "УНП повторяется в файле / duplicate UNP"))
    if errors:
        return RegistryImportResult(errors=errors)

    resource = OperatorResource(user=user)
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=True, raise_errors=False, use_transactions=True)
        errors = _format_errors(dataset, result, numbers)
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
