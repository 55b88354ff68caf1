"""Processing a stored filing (issue 3): validate, import all or nothing, supersede, record errors.

The life cycle of a RegistrationFiling: received -> processing -> accepted |
rejected, and superseded when a later accepted filing of the same operator,
kind and period replaces it. Receiving an upload (and the dry run) is
filings/services.py; the Celery task that runs this is filings/tasks.py.

Rows of a kind this layer does not own (the transfer register, loaded by outflows'
bulk ingest) go through filings.hooks.row_importers; an accepted filing is announced
through filings.hooks.on_filing_accepted. Neither imports the layer above.
"""

import logging
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from filings import hooks, leases
from filings.archive import client_records_archive
from filings.locks import lock_operator
from filings.progress import filing_progress
from filings.resources import ClientRecordResource, OperatorProfileRecordResource
from filings.validate import COLUMNS, check_header, client_checker, profile_checker
from operators.models import (
    FilingError,
    FilingKind,
    FilingStatus,
    OperatorProfileRecord,
    RegistrationFiling,
)
from operators.tabular.errors import MESSAGES, ErrorList
from operators.tabular.progress import SAVING
from operators.tabular.reader import FileRejected, Source, prepare_table, time_budget

logger = logging.getLogger(__name__)

FINAL = {FilingStatus.ACCEPTED, FilingStatus.REJECTED, FilingStatus.SUPERSEDED}
# The figures of an import, whichever layer loads its rows (filings.hooks.RowImporter.load).
FIGURES = tuple(f.name for f in fields(hooks.ImportFigures))


class _Rejected(Exception):
    pass


@dataclass
class Outcome(hooks.ImportFigures):
    """The figures of an import (the same as a row importer's) and the file's errors."""

    errors: ErrorList = field(default_factory=ErrorList)


def filings_stuck() -> list[int]:
    """Filings `received` or `processing` that no worker is importing, to re-send (marked re-sent).

    Their worker died (its lease lapsed) or their message was lost (Redis restarted without
    it, or down when the upload was committed): see filings.leases.leases_lapsed. Re-sending
    is safe: filing_process imports a filing at most once.
    """
    pending = RegistrationFiling.objects.filter(status__in=[FilingStatus.RECEIVED, FilingStatus.PROCESSING])
    return leases.leases_lapsed(kind=leases.FILING, pending=pending, sent_field="updated_at")


def filing_process(*, filing_id: int) -> RegistrationFiling:
    """Validate and import one filing, all or nothing, under its work lease. Idempotent.

    A copy delivered while another live process imports the filing returns at once (the
    lease is held: filings.leases); a final filing is returned as it is. A filing whose
    worker died WORK_MAX_ATTEMPTS times (killed for memory, say) is rejected as an internal
    error rather than tried for ever.
    """
    filing = RegistrationFiling.objects.get(pk=filing_id)
    if filing.status in FINAL:
        return filing
    with leases.lease_held(kind=leases.FILING, object_id=filing_id) as lease:
        if lease is None:
            logger.info("filing %s: another worker is importing it", filing_id)
            return filing
        if lease.attempts > settings.WORK_MAX_ATTEMPTS:
            logger.error("filing %s: given up after %s attempts", filing_id, lease.attempts - 1)
            return _filing_give_up(filing_id)
        return _filing_process(filing_id=filing_id)


def _filing_give_up(filing_id: int) -> RegistrationFiling:
    with transaction.atomic():
        filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
        if filing.status not in FINAL:
            outcome = Outcome(errors=ErrorList())
            outcome.errors.add(0, "", "", "internal_error")
            _finish(filing, outcome)
    return filing


def _filing_process(*, filing_id: int) -> RegistrationFiling:
    """Validate and import one filing, all or nothing. Idempotent.

    A redelivered or concurrent run finds the filing final (or waits for the
    row lock and then finds it final) and imports nothing. A run interrupted
    mid-way left nothing behind (one transaction), so a redelivery starts over.
    """
    with transaction.atomic():
        filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
        if filing.status in FINAL:
            return filing
        if filing.status == FilingStatus.RECEIVED:
            filing.status = FilingStatus.PROCESSING
            filing.save(update_fields=["status", "updated_at"])
    try:
        # Phase one reads the file with no lock held (a slow or hostile file blocks no one),
        # within the filing's time budget; phase two, the import, holds the operator's lock.
        budget = time_budget(size_bytes=filing.size_bytes)
        # Rows read of rows total, to the cache every second, for the filing's page (filings/progress.py).
        progress = filing_progress(filing_id=filing_id)
        with prepare_table(Path(filing.file.path), budget=budget, progress=progress) as source, transaction.atomic():
            if source.rejected is None:
                # One import per operator at a time (filings/locks.py); waiting for
                # another import does not count against this filing's time budget.
                with source.deadline.paused():
                    lock_operator(operator_id=filing.operator_id)
            filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
            if filing.status in FINAL:
                return filing
            outcome = intake_import(filing=filing, source=source, supersede=True)
            progress.start(SAVING)
            _finish(filing, outcome)
    except Exception:
        logger.exception("filing %s: processing failed", filing_id)
        with transaction.atomic():
            filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
            if filing.status not in FINAL:
                outcome = Outcome(errors=ErrorList())
                outcome.errors.add(0, "", "", "internal_error")
                _finish(filing, outcome)
    if filing.status == FilingStatus.ACCEPTED:
        # The layers above act on an accepted filing (outflows: a transfer register changes the
        # non-return share, its recompute is debounced). Here the import is committed.
        for callback in hooks.on_filing_accepted:
            callback(filing=filing)
    return filing


def _finish(filing: RegistrationFiling, outcome: Outcome) -> None:
    filing.rows_total = outcome.rows_total
    filing.processed_at = timezone.now()
    if outcome.errors:
        filing.status = FilingStatus.REJECTED
        filing.rows_imported = 0
        filing.rows_skipped = 0
        filing.error_count = len(outcome.errors)
        filing.errors.all().delete()
        FilingError.objects.bulk_create(
            [
                FilingError(
                    filing=filing,
                    row=e.row,
                    column=e.column,
                    value=e.value,
                    code=e.code,
                    message_ru=MESSAGES[e.code][0],
                    message_en=MESSAGES[e.code][1],
                )
                for e in outcome.errors
            ],
            batch_size=2000,
        )
    else:
        filing.status = FilingStatus.ACCEPTED
        filing.rows_imported = outcome.rows_imported
        filing.rows_skipped = outcome.rows_skipped
        filing.error_count = 0
        filing.warnings = totals_warnings(filing, outcome)
    filing.save()


def totals_warnings(filing: RegistrationFiling, outcome: Outcome) -> list[dict]:
    """Declared totals that differ from the rows: recorded, not rejected, so the audit rule can flag it."""
    warnings = []
    checks = [("declared_rows", filing.declared_rows, outcome.rows_total)]
    if filing.kind == FilingKind.TRANSFER_REGISTER:
        checks += [
            ("declared_out_byn", filing.declared_out_byn, outcome.out_value),
            ("declared_in_byn", filing.declared_in_byn, outcome.in_value),
        ]
    for name, declared, actual in checks:
        if declared is not None and Decimal(declared) != Decimal(actual):
            warnings.append(
                {
                    "code": "declared_totals_mismatch",
                    "field": name,
                    "declared": str(declared),
                    "actual": str(actual),
                    "message_ru": "Заявленные итоги не совпадают со строками файла",
                    "message_en": "Declared totals do not match the rows of the file",
                }
            )
    return warnings


def intake_import(*, filing: RegistrationFiling, source: Source, supersede: bool = False) -> Outcome:
    """Read, validate and import; on any error the import savepoint is rolled back and the errors returned."""
    outcome = Outcome(errors=ErrorList())
    if source.rejected is not None:
        outcome.errors.append(source.rejected)
        return outcome
    try:
        with transaction.atomic():
            earlier = list(
                RegistrationFiling.objects.select_for_update()
                .filter(
                    operator_id=filing.operator_id,
                    kind=filing.kind,
                    period_start=filing.period_start,
                    period_end=filing.period_end,
                    status=FilingStatus.ACCEPTED,
                )
                .exclude(pk=filing.pk)
            )
            # The earlier filing's rows go first, inside the same savepoint: if this
            # one is rejected they come back untouched; if it is accepted they are
            # replaced in one commit, never visible half-way.
            for old in earlier:
                _delete_rows(old)
            _import(filing=filing, source=source, outcome=outcome)
            if outcome.errors:
                raise _Rejected
            if supersede:
                for old in earlier:
                    old.status = FilingStatus.SUPERSEDED
                    old.superseded_by = filing
                    old.rows_imported = 0
                    old.save(update_fields=["status", "superseded_by", "rows_imported", "updated_at"])
    except _Rejected:
        pass
    return outcome


def _delete_rows(filing: RegistrationFiling) -> None:
    if filing.kind in hooks.row_importers:
        hooks.row_importers[filing.kind].delete(filing=filing)
    elif filing.kind == FilingKind.CLIENT_REGISTER:
        client_records_archive(filing=filing)  # kept for re-deriving outflow runs that read them
    else:
        OperatorProfileRecord.objects.filter(filing=filing).delete()


def _import(*, filing: RegistrationFiling, source: Source, outcome: Outcome) -> None:
    errors = outcome.errors
    try:
        table = source.table()
    except FileRejected as exc:
        errors.append(exc.error)
        return
    positions = check_header(table.header, filing.kind, errors)
    if positions is None:
        return
    try:
        if filing.kind in (FilingKind.CLIENT_REGISTER, FilingKind.OPERATOR_PROFILE):
            _import_small(filing=filing, table=table, positions=positions, outcome=outcome)
        else:
            _import_by_hook(filing=filing, source=source, table=table, positions=positions, outcome=outcome)
    except FileRejected as exc:
        errors.append(exc.error)
    if not errors and outcome.rows_total == 0:
        errors.add(0, "", "", "header_only")


def _import_by_hook(*, filing, source: Source, table, positions, outcome: Outcome) -> None:
    importer = hooks.row_importers.get(filing.kind)
    if importer is None:
        raise LookupError(f"no row importer registered for {filing.kind!r} (filings.hooks)")
    result = importer.load(filing=filing, source=source, table=table, positions=positions, errors=outcome.errors)
    for name in FIGURES:
        setattr(outcome, name, getattr(result, name))


def _import_small(*, filing, table, positions, outcome: Outcome) -> None:
    errors = outcome.errors
    make = client_checker if filing.kind == FilingKind.CLIENT_REGISTER else profile_checker
    check = make(positions=positions, period_start=filing.period_start, period_end=filing.period_end, errors=errors)
    clean: list[dict] = []
    last_row = 1
    for row_no, cells in table.rows:
        if not cells or not any(c.strip() for c in cells):
            continue
        outcome.rows_total += 1
        last_row = row_no
        values = check(row_no, cells)
        if values is not None:
            clean.append(values)
    if filing.kind == FilingKind.OPERATOR_PROFILE and outcome.rows_total > 1:
        errors.add(last_row, "", str(outcome.rows_total), "profile_row_count")
    if errors or not clean:
        return
    columns = ["operator", "filing", *COLUMNS[filing.kind]]
    dataset = tablib.Dataset(headers=columns)
    for values in clean:
        dataset.append([filing.operator_id, filing.pk, *(values[c] for c in COLUMNS[filing.kind])])
    resource = ClientRecordResource() if filing.kind == FilingKind.CLIENT_REGISTER else OperatorProfileRecordResource()
    result = resource.import_data(dataset, dry_run=False, raise_errors=True, use_transactions=False)
    outcome.rows_imported = result.totals.get("new", 0) if hasattr(result, "totals") else len(clean)
