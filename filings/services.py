"""Receiving a filing (issue 3): views, the API, the command line and the demo call filing_submit.

An upload is stored byte-for-byte and sent to the worker (filings/tasks.py), which
processes it (filings/processing.py); a dry run validates with the very same
import code inside a transaction that is rolled back. filing_process and
filings_stuck are re-exported here: this module is the intake's public face.
"""

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from config.errors import REDIS_ERRORS
from filings.corrections import Correction, correction_record
from filings.locks import OperatorBusy, lock_operator
from filings.processing import filing_process, filings_stuck, intake_import, totals_warnings
from filings.progress import upload_stored
from filings.tasks import process_filing
from operators.calendar import filing_due_date
from operators.models import FilingKind, FilingStatus, Operator, RegistrationFiling
from operators.tabular.errors import RowError
from operators.tabular.progress import Progress
from operators.tabular.reader import prepare_table, time_budget

__all__ = ["FilingResult", "filing_process", "filing_submit", "filings_stuck"]

logger = logging.getLogger(__name__)


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
    progress: Progress | None = None,
    upload_token: str | None = None,
    correction: Correction | None = None,
) -> FilingResult:
    """Receive an upload; the caller has checked that ``user`` may act for ``operator``.

    Promises: a file over FILING_MAX_UPLOAD_BYTES is refused before it is read;
    the file is stored byte-for-byte with its SHA-256; a byte-identical
    re-upload for the same operator, kind and period answers with the existing
    filing; processing is enqueued on commit (or run here with
    ``process_now``, as the command line does). A dry run validates with the
    very same code inside a transaction that is rolled back: nothing is stored.
    ``progress`` follows a dry run; ``upload_token`` (the upload form's) is linked to the
    stored filing, so that the form's status requests follow its processing (filings/progress.py).
    ``correction``: why the period is filed again (filings.corrections), stored with the new filing.
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
        return _dry_run(fields=fields, uploaded_file=uploaded_file, progress=progress)

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
        if correction is not None:
            correction_record(filing=filing, correction=correction)
        if upload_token and fields["submitted_by"] is not None:
            upload_stored(token=upload_token, user_id=fields["submitted_by"].pk, filing_id=filing.pk)
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


def _dry_run(*, fields: dict, uploaded_file, progress: Progress | None = None) -> FilingResult:
    with tempfile.TemporaryDirectory(prefix="dryrun-") as tmp:
        path = Path(tmp) / "upload"
        with open(path, "wb") as out:
            for chunk in uploaded_file.chunks():
                out.write(chunk)
        # The file is read (bounded, and within the web request's time) before any lock or transaction.
        budget = time_budget(size_bytes=fields["size_bytes"], dry_run=True)
        with prepare_table(path, budget=budget, progress=progress) as source:
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
                    outcome = intake_import(filing=filing, source=source)
                    warnings = totals_warnings(filing, outcome) if not outcome.errors else []
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
