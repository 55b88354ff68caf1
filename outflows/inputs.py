"""What a run read, kept so that it can be read again (issue 17 item 6).

* `filing_rows_archive`: when a resubmission supersedes a transfer register, its
  rows move to ArchivedTransfer (same columns, same ids), in the intake's
  transaction; they are never deleted. Every live reader (lists, API, feeds, the
  engine) reads only CrossBorderTransfer and is not touched.
* `run_filings_read`: the transfer registers a run reads, in the run's own
  snapshot: the accepted ones whose period starts on or before as_of (and the
  client registers alike: the residency and KYC cells read them). Through
  the intake a transfer row is live exactly while its filing is accepted (its
  rows and the status change are one transaction, and supersession moves them
  out in the one that marks the filing superseded), so these are the filings of
  every row the run reads (rows of a filing whose period starts later are all
  after as_of). Read from the filings' table: the transfers are not scanned again.
  Rows written around the intake (tests' factories, bench loaders with filings
  not accepted) are read by a run but not recorded: re-deriving it then says so
  (the fingerprint differs), it never gives another figure silently.
* `run_inputs_store` / `run_inputs`: the record of a run (OutflowRunFiling: id
  and SHA-256 of each filing; OutflowRunRegistry: the operators and platforms its
  cells are keyed by), written with its stats, and the selector that reads it
  back (outflows.rederive, the drill-down's and the coverage's questions);
  `rows_as_read` / `run_rows`: the rows a run read, live and archived (the
  TransferAsRead view), for the drill-down of a run older than a resubmission,
  and `client_records_as_read` the client records it read (ClientRecordAsRead);
  `runs_reading`: the runs that read a filing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, QuerySet

from operators.models import FilingKind, FilingStatus, RegistrationFiling
from outflows.engine import MINSK
from outflows.models import (
    ArchivedTransfer,
    ClientRecordAsRead,
    CrossBorderTransfer,
    OutflowRun,
    OutflowRunFiling,
    OutflowRunRegistry,
    TransferAsRead,
)

# The columns both tables share (ArchivedTransfer adds archived_at, filled in by the database).
MOVED_COLUMNS = (
    "id, operator_id, filing_id, external_id, occurred_at, direction, investor_ref, platform_id, asset, amount,"
    " value_byn, updated_at"
)
_LIVE = CrossBorderTransfer._meta.db_table
_ARCHIVE = ArchivedTransfer._meta.db_table
# Copied, then deleted: two statements, the rows found twice through the BRIN on filing_id, measured faster
# than one `WITH moved AS (DELETE ... RETURNING) INSERT` (which materialises the rows): bench/README_rederive.md.
_COPY = f"INSERT INTO {_ARCHIVE} ({MOVED_COLUMNS}) SELECT {MOVED_COLUMNS} FROM {_LIVE} WHERE filing_id = %s"  # noqa: S608
_DELETE = f"DELETE FROM {_LIVE} WHERE filing_id = %s"  # noqa: S608


def filing_rows_archive(*, filing: RegistrationFiling) -> int:
    """Move a superseded transfer register's rows out of the live table into the archive; how many moved.

    Runs in the caller's (the intake's) transaction: a rejected resubmission rolls the move back.
    """
    with connection.cursor() as cursor:
        cursor.execute(_COPY, [filing.pk])
        moved = cursor.rowcount
        cursor.execute(_DELETE, [filing.pk])
        return moved


READ_KINDS = (FilingKind.TRANSFER_REGISTER, FilingKind.CLIENT_REGISTER)


@dataclass
class RunInputs:
    """What a run read: [filing id, SHA-256] of each transfer register, and the registry it keyed cells by."""

    filings: list[list] = field(default_factory=list)  # [[id, sha256], ...] by id
    operators: list[list] = field(default_factory=list)  # [[unp, id], ...]
    platforms: list[list] = field(default_factory=list)  # [[slug, id, country], ...]

    @property
    def filing_ids(self) -> list[int]:
        return [pk for pk, _ in self.filings]


def run_filings_read(*, as_of: dt.datetime) -> list[list]:
    """[[id, sha256], ...] of the registers a run as of `as_of` reads (call it in the run's snapshot): transfer
    registers, and client registers (the residency and KYC cells: outflows.clients)."""
    last_day = as_of.astimezone(MINSK).date()
    return [
        list(row)
        for row in RegistrationFiling.objects.filter(
            kind__in=READ_KINDS, status=FilingStatus.ACCEPTED, period_start__lte=last_day
        )
        .order_by("pk")
        .values_list("pk", "sha256")
    ]


def run_inputs_store(run: OutflowRun, inputs: RunInputs) -> None:
    """Write a run's record (inside the transaction that marks it finished)."""
    OutflowRunRegistry.objects.update_or_create(
        run=run, defaults={"operators": inputs.operators, "platforms": inputs.platforms}
    )
    OutflowRunFiling.objects.filter(run=run).delete()
    OutflowRunFiling.objects.bulk_create(
        [OutflowRunFiling(run=run, filing_id=pk, sha256=sha256) for pk, sha256 in inputs.filings], batch_size=5_000
    )


def run_inputs(*, run: OutflowRun | int) -> RunInputs | None:
    """What the run read, or None for a run that kept no record (finished before runs kept one)."""
    run_id = run.pk if isinstance(run, OutflowRun) else int(run)
    registry = OutflowRunRegistry.objects.filter(run_id=run_id).first()
    if registry is None:
        return None
    filings = OutflowRunFiling.objects.filter(run_id=run_id).order_by("filing_id").values_list("filing_id", "sha256")
    return RunInputs(filings=[list(row) for row in filings], operators=registry.operators, platforms=registry.platforms)


def filings_since(*, run: OutflowRun, recorded: list[list]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(added, gone): the registers a run with its as_of reads now and the run did not, and the other way,
    by (id, SHA-256) against the run's record (`recorded`: RunInputs.filings)."""
    now = {(pk, sha) for pk, sha in run_filings_read(as_of=run.as_of)}
    then = {(pk, sha) for pk, sha in recorded}
    return tuple(sorted({pk for pk, _ in now - then})), tuple(sorted({pk for pk, _ in then - now}))


def rows_as_read(*, added: tuple[int, ...] | list[int], gone: tuple[int, ...] | list[int]) -> QuerySet[TransferAsRead]:
    """The rows a run read (not limited to its as_of), given the registers accepted since (`added`) and those
    it read that are no longer accepted (`gone`, `filings_since`): the live rows but those of `added`, and the
    archived rows of `gone`. A row is live exactly while its register is accepted (the intake), so these are
    the rows of the run's recorded filings, live or archived; both conditions name a few filings, so each
    table is read through its own indexes (the live one's order, the archive's BRIN on filing_id)."""
    return TransferAsRead.objects.filter(
        Q(archived=False) & ~Q(filing_id__in=list(added)) | Q(archived=True, filing_id__in=list(gone))
    )


def client_records_as_read(
    *, added: tuple[int, ...] | list[int], gone: tuple[int, ...] | list[int]
) -> QuerySet[ClientRecordAsRead]:
    """The client-register records a run read (its residency and KYC cells), as `rows_as_read`: the accepted
    registers' records but those of `added`, and the archived records of `gone`."""
    live = Q(archived=False, filing__kind=FilingKind.CLIENT_REGISTER, filing__status=FilingStatus.ACCEPTED)
    archived = Q(archived=True, filing_id__in=list(gone))
    return ClientRecordAsRead.objects.filter(live & ~Q(filing_id__in=list(added)) | archived)


def run_rows(*, run: OutflowRun) -> QuerySet[TransferAsRead] | None:
    """The transfers a run read, as they were (up to its as_of): its filings' rows still live and those
    archived since, or None for a run that kept no record."""
    inputs = run_inputs(run=run)
    if inputs is None:
        return None
    added, gone = filings_since(run=run, recorded=inputs.filings)
    return rows_as_read(added=added, gone=gone).filter(occurred_at__lte=run.as_of)


def runs_reading(*, filing: RegistrationFiling | int) -> list[int]:
    """The runs that read a filing (newest first): the ones a resubmission of its period leaves behind."""
    filing_id = filing.pk if isinstance(filing, RegistrationFiling) else int(filing)
    return list(
        OutflowRunFiling.objects.filter(filing_id=filing_id).order_by("-run_id").values_list("run_id", flat=True)
    )
