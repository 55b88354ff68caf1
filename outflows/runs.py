"""The life of an outflow run: its lock, its lease, its read snapshot, its stored stats and status.

Promises (tested): never two runs at once (a cache lock, renewed with the
run's work lease: filings.leases); a run's figures, input row count and
fingerprint come from one snapshot of the transfers; the stats and the
"finished" status are written in one transaction and a finished run never
changes; a run that failed keeps its error. The Celery tasks are sent by name
(outflows/tasks.py registers them): this module never imports the tasks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from decimal import Decimal

import numpy as np
from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from psycopg import sql as psycopg_sql

from config.errors import REDIS_ERRORS
from config.locks import cache_lock_held, cache_lock_release, cache_lock_renew, cache_lock_take
from filings import leases
from operators.models import WorkLease
from outflows import engine
from outflows.compute import outflow_compute
from outflows.coverage import run_coverage
from outflows.inputs import RunInputs, run_filings_read, run_inputs_store
from outflows.models import OutflowRun, OutflowStat, RunStatus
from outflows.selectors import STAT_FIELDS
from outflows.variant_summary import split_cells

logger = logging.getLogger(__name__)

COMPUTE_TASK = "outflows.compute"  # outflows.tasks.compute_outflows_task

LOCK_KEY = "outflows:compute-lock"
# Longer than the longest run we expect (10M transfers take seconds); a crashed
# process cannot block the nightly run for more than this.
LOCK_TIMEOUT_S = 30 * 60


class OutflowRunBusy(Exception):
    """Another outflow run holds the lock: two runs never compute at once."""


def _kopecks_to_byn(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


def _share(outbound: int, returned: int) -> Decimal | None:
    """(outbound - returned) / outbound to 6 places, or None when nothing matured."""
    if outbound == 0:
        return None
    return (Decimal(outbound - returned) / Decimal(outbound)).quantize(Decimal("0.000001"))


STAT_COLUMNS = (*STAT_FIELDS, *(f"returned_{days}d_byn" for days in engine.CURVE_DAYS))


def _stat_values(cells: dict[tuple[str, str, str], np.ndarray]) -> list[tuple]:
    """One tuple of STAT_COLUMNS per stat row, in (dimension, key, cohort) order."""
    rows = []
    for (dimension, key, cohort), m in sorted(cells.items()):
        outbound, returned = int(m[engine.M_OUTBOUND]), int(m[engine.M_RETURNED])
        rows.append(
            (
                dimension,
                key,
                cohort,
                _kopecks_to_byn(outbound),
                _kopecks_to_byn(returned),
                _kopecks_to_byn(outbound - returned),
                _share(outbound, returned),
                _kopecks_to_byn(m[engine.M_PENDING_OUTBOUND]),
                _kopecks_to_byn(m[engine.M_PENDING_RETURNED]),
                int(m[engine.M_COUNT]),
                *(_kopecks_to_byn(m[engine.M_CURVE + k]) for k in range(len(engine.CURVE_DAYS))),
            )
        )
    return rows


def _stats_store(run: OutflowRun, cells: dict[tuple[str, str, str], np.ndarray]) -> None:
    """Write the run's OutflowStat rows: COPY on PostgreSQL (no model instances or per-field
    preparation), else bulk_create."""
    if connection.vendor != "postgresql":
        rows = _stat_values(cells)
        OutflowStat.objects.bulk_create(
            [OutflowStat(run=run, **dict(zip(STAT_COLUMNS, row, strict=True))) for row in rows], batch_size=5_000
        )
        return
    fields = [OutflowStat._meta.get_field(name) for name in ("run", *STAT_COLUMNS)]
    copy_sql = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg_sql.Identifier(OutflowStat._meta.db_table),
        psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(field.column) for field in fields),
    )
    # COPY's text format written by hand: a run with the issue 17 cross-tabs has tens of thousands of rows,
    # and adapting each value with write_row cost about a second at 10 M transfers (bench/outflows_full.py);
    # the amounts are written from the integer kopecks (a Decimal per value cost 0.3 s more there).
    text = _stat_copy_text(run.pk, cells)
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        copy.write(text)


def _byn_text(kopecks: int) -> str:
    """str(_kopecks_to_byn(kopecks)), from the integer."""
    sign, kopecks = ("-", -kopecks) if kopecks < 0 else ("", kopecks)
    return f"{sign}{kopecks // 100}.{kopecks % 100:02d}"


def _share_text(outbound: int, returned: int) -> str:
    """str(_share(outbound, returned)) ("\\N" for None), from the integers: round half even of the exact
    quotient (Decimal's 28 digits before its quantize cannot round differently below 5e21 kopecks)."""
    if outbound <= 0 or returned > outbound:
        share = _share(outbound, returned)
        return "\\N" if share is None else str(share)
    q, r = divmod((outbound - returned) * 1_000_000, outbound)
    if 2 * r > outbound or (2 * r == outbound and q % 2):
        q += 1
    return f"{q // 1_000_000}.{q % 1_000_000:06d}"


def _stat_copy_text(run_pk: int, cells: dict[tuple[str, str, str], np.ndarray]) -> str:
    """The rows of _stat_values (with the run first) in COPY's text format."""
    lines = []
    for (dimension, key, cohort), m in sorted(cells.items()):
        v = m.tolist()
        outbound, returned = v[engine.M_OUTBOUND], v[engine.M_RETURNED]
        fields = (
            str(run_pk),
            _copy_text(dimension),
            _copy_text(key),
            _copy_text(cohort),
            _byn_text(outbound),
            _byn_text(returned),
            _byn_text(outbound - returned),
            _share_text(outbound, returned),
            _byn_text(v[engine.M_PENDING_OUTBOUND]),
            _byn_text(v[engine.M_PENDING_RETURNED]),
            str(v[engine.M_COUNT]),
            *(_byn_text(v[engine.M_CURVE + k]) for k in range(len(engine.CURVE_DAYS))),
        )
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n" if lines else ""


def _copy_text(value) -> str:
    """A value in COPY's text format: NULL as \\N, backslash, tab and line breaks escaped."""
    if value is None:
        return "\\N"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def lock_take() -> str:
    """Take the run lock (never two runs at once; config.locks): its token, or OutflowRunBusy."""
    token = cache_lock_take(LOCK_KEY, timeout=LOCK_TIMEOUT_S)
    if token is None:
        raise OutflowRunBusy("another outflow run is computing")
    return token


def lock_release(token: str) -> None:
    cache_lock_release(LOCK_KEY, token)


def _lock_renew(token: str) -> None:
    """Keep the lock of a run computing in this process for one more lease: renewed by the
    run's heartbeat, it lapses a minute after its process died instead of half an hour."""
    cache_lock_renew(LOCK_KEY, token, timeout=settings.WORK_LEASE_SECONDS)


def run_start(run: OutflowRun | None, *, as_of, window_days: int, partitions: int, requested_by) -> OutflowRun:
    """The run, created or taken from the queue, marked running; a finished run is returned as it is."""
    if run is None:
        run = OutflowRun.objects.create(
            as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by
        )
    if run.status == RunStatus.FINISHED:
        return run  # idempotent: a finished run is never recomputed or changed
    run.as_of, run.window_days, run.partitions = as_of, window_days, partitions
    run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
    run.save(update_fields=["as_of", "window_days", "partitions", "status", "started_at", "error", "updated_at"])
    return run


def run_finish(
    run: OutflowRun,
    *,
    cells: dict,
    excess_return: int,
    input_rows: int,
    fingerprint: str,
    timings: dict,
    uncertainty: dict | None = None,
    inputs: RunInputs | None = None,
) -> None:
    """Store the stats and mark the run finished, in one transaction: from here on it never changes.

    The variants' pseudo-cells (outflows.variant_summary) become the run's `variants` record.

    With them, what the run read (outflows.inputs: its filings and registry), to re-derive it later.

    The coverage of the transfer registers (outflows.coverage) is read here, beside the stats it describes.
    """
    cells, run.variants = split_cells(cells)
    mark = time.perf_counter()
    run.uncertainty = uncertainty or {}
    run.coverage = run_coverage(as_of=run.as_of, window_days=run.window_days, cells=cells)
    timings = {**timings, "coverage_s": round(time.perf_counter() - mark, 3)}
    mark = time.perf_counter()
    with transaction.atomic():
        _stats_store(run, cells)
        if inputs is not None:
            run_inputs_store(run, inputs)
        run.input_rows = input_rows
        run.input_fingerprint = fingerprint
        run.excess_return_byn = _kopecks_to_byn(excess_return)
        run.status = RunStatus.FINISHED
        run.finished_at = timezone.now()
        run.timings = {
            **timings,
            "store_s": round(time.perf_counter() - mark, 3),
            "total_s": round((run.finished_at - run.started_at).total_seconds(), 3),
        }
        run.save()
    logger.info("outflow run %s finished: %s rows, %s", run.pk, run.input_rows, run.timings)


def run_fail(run_id: int, error: str) -> None:
    OutflowRun.objects.filter(pk=run_id).exclude(status=RunStatus.FINISHED).update(
        status=RunStatus.FAILED, error=error, finished_at=timezone.now()
    )


def outflow_run_compute(
    *,
    as_of: dt.datetime | None = None,
    window_days: int = 365,
    partitions: int = 1,
    requested_by=None,
    run: OutflowRun | None = None,
    reader: str | None = None,
) -> OutflowRun:
    """One run of DESIGN section 5 in this process: an OutflowRun with its OutflowStat rows.

    Promises: never two runs at once (a cache lock; OutflowRunBusy when held);
    the run's figures, input row count and fingerprint come from one snapshot
    of the transfers (REPEATABLE READ on PostgreSQL); the stats and the
    "finished" status are written in one transaction, and a finished run is
    never changed again. A queued run may be passed in (the Celery task does);
    a run that failed keeps its error text and status "failed".
    Outbound counts and values in the stats are those of matured outbounds;
    pending ones are reported apart (pending_* fields).
    """
    if as_of is None:
        as_of = timezone.now()
    check_parameters(as_of, window_days, partitions)
    token = lock_take()
    try:
        run = run_start(run, as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by)
        if run.status == RunStatus.FINISHED:
            return run
        # Its work lease, renewed with the lock, lets the sweeper re-send the run if this process dies.
        with leases.lease_held(kind=leases.OUTFLOW_RUN, object_id=run.pk, also=lambda: _lock_renew(token)) as lease:
            if lease is None:
                raise OutflowRunBusy(f"outflow run {run.pk} is computing in another process")
            if lease.attempts > settings.WORK_MAX_ATTEMPTS:
                run_fail(run.pk, f"given up: its worker died {lease.attempts - 1} times")
                return run
            _run_compute(run, reader=reader)
        return run
    finally:
        lock_release(token)


def _run_compute(run: OutflowRun, *, reader: str | None) -> None:
    """Compute a started run and store it; a failure marks it failed (with the error) and is raised."""
    try:
        with read_snapshot():
            result = outflow_compute(
                as_of=run.as_of, window_days=run.window_days, partitions=run.partitions, reader=reader
            )
            filings = run_filings_read(as_of=run.as_of)  # in the same snapshot as the transfers
        registry = result.registry
        run_finish(
            run,
            cells=result.cells,
            excess_return=result.excess_return,
            input_rows=result.input_rows,
            fingerprint=result.fingerprint,
            timings=result.timings,
            uncertainty=result.uncertainty,
            inputs=RunInputs(filings=filings, operators=registry.operators, platforms=registry.platforms),
        )
    except Exception as exc:
        logger.exception("outflow run %s failed", run.pk)
        run_fail(run.pk, f"{type(exc).__name__}: {exc}")
        raise


def outflow_runs_stuck() -> list[int]:
    """Runs nobody is computing, to re-send (marked re-sent): queued ones whose message was lost,
    and running ones computed in-process whose worker died (their lease lapsed; filings.leases).

    A fanned-out run holds no lease (its partitions run anywhere): outflow_runs_fail_lost handles it.
    """
    leased = WorkLease.objects.filter(kind=leases.OUTFLOW_RUN, object_id=OuterRef("pk"))
    pending = OutflowRun.objects.filter(Q(status=RunStatus.QUEUED) | Q(Exists(leased), status=RunStatus.RUNNING))
    return leases.leases_lapsed(kind=leases.OUTFLOW_RUN, pending=pending, sent_field="created_at")


def check_parameters(as_of: dt.datetime, window_days: int, partitions: int) -> None:
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be an aware datetime")
    if window_days < 1 or partitions < 1:
        raise ValueError("window_days and partitions must be positive")


def outflow_runs_fail_lost() -> int:
    """Mark failed the runs still "running" after the lock's lifetime with no lock held: their computation is lost.

    An in-process run is re-delivered when its worker dies and finishes then; a
    fanned-out run whose chord can no longer complete (its messages lost with a
    Redis that kept no journal) would otherwise stay "running" for ever.
    """
    if cache_lock_held(LOCK_KEY):
        return 0  # a run is computing: it may be the old one
    cutoff = timezone.now() - dt.timedelta(seconds=LOCK_TIMEOUT_S)
    return OutflowRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff).update(
        status=RunStatus.FAILED,
        error=f"lost: not finished {LOCK_TIMEOUT_S // 60} minutes after its start; request a new run",
        finished_at=timezone.now(),
    )


@contextlib.contextmanager
def read_snapshot():
    """A transaction whose reads all see one snapshot of the transfers (REPEATABLE READ on PostgreSQL).

    Inside an outer transaction (a caller's, the tests') the reads are that transaction's.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            _snapshot_isolation()
        yield


def _snapshot_isolation() -> None:
    """REPEATABLE READ for the read: the count, the COPY and the fingerprint see one snapshot.

    Only possible as the first statement of a transaction; inside an outer
    transaction (tests) the reads are already one transaction's.
    """
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers; a read transaction already sees one snapshot
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def outflow_run_request(
    *, as_of: dt.datetime | None = None, window_days: int = 365, partitions: int = 1, requested_by=None
) -> OutflowRun:
    """Queue a run (auditors and supervisors, from the UI or API): the Celery task computes it.

    Returns the queued OutflowRun at once; the task is sent when the caller's transaction commits.
    If Redis is down then, the run stays queued and the sweeper sends it once Redis is back.
    """
    run = OutflowRun.objects.create(
        as_of=as_of or timezone.now(), window_days=window_days, partitions=partitions, requested_by=requested_by
    )
    transaction.on_commit(lambda: _run_send(run.pk))
    return run


def _run_send(run_id: int) -> None:
    try:
        current_app.signature(COMPUTE_TASK, kwargs={"run_id": run_id}).delay()
    except REDIS_ERRORS:
        logger.exception("outflow run %s: not sent to the worker (broker unavailable); the sweeper will", run_id)
