"""Writes of the filing intake (issue 3). Views, the API, the command line and tasks call these.

The life cycle of a RegistrationFiling: received -> processing -> accepted |
rejected, and superseded when a later accepted filing of the same operator,
kind and period replaces it.

Why one module of ~480 lines: submit, dry run and process share the one transaction
discipline of an import (read first, then the operator's lock, the savepoint that
supersedes, the lease around it); splitting them apart would spread that across files.
The renovation (issue 15) moves the intake into its own `filings` layer.
"""

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from config.errors import REDIS_ERRORS
from operators import leases
from operators.calendar import filing_due_date
from operators.intake.errors import MESSAGES, ErrorList, RowError
from operators.intake.locks import OperatorBusy, lock_operator
from operators.intake.reader import FileRejected, Source, prepare_table, time_budget
from operators.intake.resources import ClientRecordResource, OperatorProfileRecordResource
from operators.intake.validate import COLUMNS, TransferChecker, check_header, client_checker, profile_checker
from operators.models import (
    ClientRecord,
    FilingError,
    FilingKind,
    FilingStatus,
    Operator,
    OperatorProfileRecord,
    RegistrationFiling,
)
from outflows.ingest import IngestResult, transfer_register_ingest
from outflows.tasks import schedule_outflow_recompute

logger = logging.getLogger(__name__)

FINAL = {FilingStatus.ACCEPTED, FilingStatus.REJECTED, FilingStatus.SUPERSEDED}


@dataclass
class FilingResult:
    """What an upload came to. ``filing`` is None for a dry run and for a file refused before storing."""

    status: str
    filing: RegistrationFiling | None = None
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    existing: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict:
        return {
            "filing": self.filing.pk if self.filing else None,
            "status": self.status,
            "rows": self.rows,
            "errors": [e.as_dict() for e in self.errors],
        }


class _Rejected(Exception):
    pass


@dataclass
class _Outcome(IngestResult):
    """The figures of an import (the same as the bulk path's) and the file's errors."""

    errors: ErrorList = field(default_factory=ErrorList)


def _hash_upload(uploaded_file) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


def filing_submit(
    *,
    operator: Operator,
    kind: str,
    period_start: date,
    period_end: date,
    uploaded_file,
    user: AbstractBaseUser | None,
    declared_rows: int | None = None,
    declared_out_byn: Decimal | None = None,
    declared_in_byn: Decimal | None = None,
    dry_run: bool = False,
    process_now: bool = False,
) -> FilingResult:
    """Receive an upload; the caller has checked that ``user`` may act for ``operator``.

    Promises: a file over FILING_MAX_UPLOAD_BYTES is refused before it is read;
    the file is stored byte-for-byte with its SHA-256; a byte-identical
    re-upload for the same operator, kind and period answers with the existing
    filing; processing is enqueued on commit (or run here with
    ``process_now``, as the command line does). A dry run validates with the
    very same code inside a transaction that is rolled back: nothing is stored.
    """
    if kind not in FilingKind.values:
        raise ValueError(f"unknown filing kind {kind!r}")
    if period_end < period_start:
        raise ValueError("period_end is before period_start")
    size = uploaded_file.size
    if size is not None and size > settings.FILING_MAX_UPLOAD_BYTES:
        return FilingResult(
            status=FilingStatus.REJECTED,
            errors=[RowError(0, "", str(size), "file_too_large")],
            dry_run=dry_run,
        )
    sha256 = _hash_upload(uploaded_file)
    fields = {
        "operator": operator,
        "kind": kind,
        "period_start": period_start,
        "period_end": period_end,
        "due_date": filing_due_date(kind=kind, period_end=period_end),
        "submitted_by": user if user is not None and user.is_authenticated else None,
        "original_name": Path(getattr(uploaded_file, "name", "") or "").name[:255],
        "size_bytes": size or 0,
        "sha256": sha256,
        "declared_rows": declared_rows,
        "declared_out_byn": declared_out_byn,
        "declared_in_byn": declared_in_byn,
    }
    if dry_run:
        return _dry_run(fields=fields, uploaded_file=uploaded_file)

    existing = (
        RegistrationFiling.objects.filter(
            operator=operator, kind=kind, period_start=period_start, period_end=period_end, sha256=sha256
        )
        .order_by("-submitted_at")
        .first()
    )
    if existing is not None:
        return _result_for(existing, existing=True)

    with transaction.atomic():
        filing = RegistrationFiling(**fields)
        filing.file.save(sha256, uploaded_file, save=False)
        filing.save()
        if not process_now:
            filing_id = filing.pk
            transaction.on_commit(lambda: _enqueue(filing_id))
    if process_now:
        filing = filing_process(filing_id=filing.pk)
    else:
        filing.refresh_from_db()
    return _result_for(filing)


def _enqueue(filing_id: int) -> None:
    """Send the filing to the worker. A broker (Redis) outage is logged, not raised: the filing
    is committed and stays `received`, and the sweeper sends it once Redis is back."""
    from operators.tasks import process_filing

    try:
        process_filing.delay(filing_id)
    except REDIS_ERRORS:
        logger.exception("filing %s: not sent to the worker (broker unavailable); the sweeper will", filing_id)


def _result_for(filing: RegistrationFiling, *, existing: bool = False) -> FilingResult:
    errors = [RowError(e.row, e.column, e.value, e.code) for e in filing.errors.all()]
    return FilingResult(
        status=filing.status,
        filing=filing,
        rows=filing.rows_total,
        errors=errors,
        warnings=list(filing.warnings or []),
        existing=existing,
    )


def _dry_run(*, fields: dict, uploaded_file) -> FilingResult:
    with tempfile.TemporaryDirectory(prefix="dryrun-") as tmp:
        path = Path(tmp) / "upload"
        with open(path, "wb") as out:
            for chunk in uploaded_file.chunks():
                out.write(chunk)
        # The file is read (bounded, and within the web request's time) before any lock or transaction.
        budget = time_budget(size_bytes=fields["size_bytes"], dry_run=True)
        with prepare_table(path, budget=budget) as source:
            if source.rejected is not None:
                return FilingResult(status=FilingStatus.REJECTED, errors=[source.rejected], dry_run=True)
            try:
                with transaction.atomic():
                    # The filing row exists only inside this transaction: the import writes
                    # against its id exactly as a real submission would, then all is undone.
                    filing = RegistrationFiling.objects.create(**fields)
                    with source.deadline.paused():
                        lock_operator(
                            operator_id=filing.operator_id, wait_seconds=settings.FILING_DRY_RUN_LOCK_WAIT_SECONDS
                        )
                    outcome = _intake(filing=filing, source=source)
                    warnings = _totals_warnings(filing, outcome) if not outcome.errors else []
                    transaction.set_rollback(True)
            except OperatorBusy:
                busy = RowError(0, "", "", "operator_busy")
                return FilingResult(status=FilingStatus.REJECTED, errors=[busy], dry_run=True)
    return FilingResult(
        status=FilingStatus.REJECTED if outcome.errors else "valid",
        rows=outcome.rows_total,
        errors=list(outcome.errors),
        warnings=warnings,
        dry_run=True,
    )


def filings_stuck() -> list[int]:
    """Filings `received` or `processing` that no worker is importing, to re-send (marked re-sent).

    Their worker died (its lease lapsed) or their message was lost (Redis restarted without
    it, or down when the upload was committed): see operators.leases.leases_lapsed. Re-sending
    is safe: filing_process imports a filing at most once.
    """
    pending = RegistrationFiling.objects.filter(status__in=[FilingStatus.RECEIVED, FilingStatus.PROCESSING])
    return leases.leases_lapsed(kind=leases.FILING, pending=pending, sent_field="updated_at")


def filing_process(*, filing_id: int) -> RegistrationFiling:
    """Validate and import one filing, all or nothing, under its work lease. Idempotent.

    A copy delivered while another live process imports the filing returns at once (the
    lease is held: operators.leases); a final filing is returned as it is. A filing whose
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
            outcome = _Outcome(errors=ErrorList())
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
        with prepare_table(Path(filing.file.path), budget=budget) as source, transaction.atomic():
            if source.rejected is None:
                # One import per operator at a time (operators/intake/locks.py); waiting for
                # another import does not count against this filing's time budget.
                with source.deadline.paused():
                    lock_operator(operator_id=filing.operator_id)
            filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
            if filing.status in FINAL:
                return filing
            outcome = _intake(filing=filing, source=source, supersede=True)
            _finish(filing, outcome)
    except Exception:
        logger.exception("filing %s: processing failed", filing_id)
        with transaction.atomic():
            filing = RegistrationFiling.objects.select_for_update().get(pk=filing_id)
            if filing.status not in FINAL:
                outcome = _Outcome(errors=ErrorList())
                outcome.errors.add(0, "", "", "internal_error")
                _finish(filing, outcome)
    if filing.status == FilingStatus.ACCEPTED and filing.kind == FilingKind.TRANSFER_REGISTER:
        # New transfers change the non-return share; the recompute is debounced.
        schedule_outflow_recompute()
    return filing


def _finish(filing: RegistrationFiling, outcome: _Outcome) -> None:
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
        filing.warnings = _totals_warnings(filing, outcome)
    filing.save()


def _totals_warnings(filing: RegistrationFiling, outcome: _Outcome) -> list[dict]:
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


def _intake(*, filing: RegistrationFiling, source: Source, supersede: bool = False) -> _Outcome:
    """Read, validate and import; on any error the import savepoint is rolled back and the errors returned."""
    outcome = _Outcome(errors=ErrorList())
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
    from outflows.models import CrossBorderTransfer

    if filing.kind == FilingKind.TRANSFER_REGISTER:
        CrossBorderTransfer.objects.filter(filing=filing).delete()
    elif filing.kind == FilingKind.CLIENT_REGISTER:
        ClientRecord.objects.filter(filing=filing).delete()
    else:
        OperatorProfileRecord.objects.filter(filing=filing).delete()


def _import(*, filing: RegistrationFiling, source: Source, outcome: _Outcome) -> None:
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
        if filing.kind == FilingKind.TRANSFER_REGISTER:
            _import_transfers(filing=filing, source=source, table=table, positions=positions, outcome=outcome)
        else:
            _import_small(filing=filing, table=table, positions=positions, outcome=outcome)
    except FileRejected as exc:
        errors.append(exc.error)
    if not errors and outcome.rows_total == 0:
        errors.add(0, "", "", "header_only")


def _import_transfers(*, filing, source: Source, table, positions, outcome: _Outcome) -> None:

    checker = TransferChecker(
        positions=positions,
        period_start=filing.period_start,
        period_end=filing.period_end,
        decimal_comma=table.decimal_comma,
        errors=outcome.errors,
    )
    result = transfer_register_ingest(
        filing=filing,
        records=table.records,
        reopen=lambda: source.table().records,
        checker=checker,
        errors=outcome.errors,
    )
    for figure in fields(IngestResult):
        setattr(outcome, figure.name, getattr(result, figure.name))


def _import_small(*, filing, table, positions, outcome: _Outcome) -> None:
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
