"""Celery tasks of the outflow analytics: thin wrappers around outflows.services."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from config.errors import REDIS_ERRORS
from outflows import services
from outflows.models import OutflowRun

logger = logging.getLogger(__name__)

# Many transfer registers accepted within this many seconds give one recompute.
RECOMPUTE_DEBOUNCE_S = 60
RECOMPUTE_DEBOUNCE_KEY = "outflows:recompute-scheduled"
BUSY_RETRY_S = 60


# A database outage (PostgreSQL down or restarting) is retried after 5, 10, 20 ... s, at most
# 10 minutes apart, so a run asked for during one (the debounced recompute) is not lost.
@shared_task(
    name="outflows.compute",
    bind=True,
    max_retries=30,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
)
def compute_outflows_task(
    self, run_id: int | None = None, as_of: str | None = None, window_days: int = 365, partitions: int | None = None
) -> int | None:
    """Compute one outflow run. Idempotent: a finished run is returned as it is.

    run_id: a queued OutflowRun (from outflow_run_request) to fill in, with its
    own parameters; without it a new run is made as of `as_of` (ISO 8601) or now.
    While another run holds the lock the task retries a minute later; during a
    database outage it retries with backoff. With
    partitions > 1 (default: settings.OUTFLOW_PARTITIONS, for the nightly and
    the debounced runs) on a real broker the run fans out as a chord (outflows/fanout.py).
    """
    run = None
    if run_id is not None:
        run = OutflowRun.objects.get(pk=run_id)
        as_of_value, window_days, partitions = run.as_of, run.window_days, run.partitions
    else:
        as_of_value = dt.datetime.fromisoformat(as_of) if as_of else None
        partitions = partitions or settings.OUTFLOW_PARTITIONS
    try:
        # Partitions are read apart in PostgreSQL (COPY or ADBC reader); inline (eager) runs stay in this process.
        if partitions > 1 and not self.request.is_eager and services.partitions_supported():
            plan = services.outflow_fan_out_begin(
                as_of=as_of_value or timezone.now(), window_days=window_days, partitions=partitions, run=run
            )
            if plan is None:  # the queued run had finished meanwhile
                return run.pk
            services.outflow_fan_out_send(plan)
            return plan["run"]
        run = services.outflow_run_compute(as_of=as_of_value, window_days=window_days, partitions=partitions, run=run)
    except services.OutflowRunBusy as exc:
        if self.request.is_eager:
            # Embedded default: the run now computing is inline in this process; do not block the caller.
            logger.warning("outflow recompute skipped: another run is computing")
            return None
        raise self.retry(exc=exc, countdown=BUSY_RETRY_S) from exc
    return run.pk


# The chord (outflows.fanout.outflow_fan_out_send) sends these by name: keep the names. Its partial
# results travel through the result backend (Redis): the partition tasks must keep theirs.
@shared_task(name="outflows.compute_partition", ignore_result=False)
def compute_outflow_partition_task(plan: dict, partition: int) -> dict:
    """Read and compute one partition of a fanned-out run (services.outflow_partition_compute)."""
    return services.outflow_partition_compute(plan, partition)


@shared_task(name="outflows.merge_partitions")
def merge_outflow_partitions_task(partials: list[dict], plan: dict) -> int | None:
    """Merge the partitions into the run; plan again if they saw different transfers."""
    run = services.outflow_fan_out_finish(plan, partials)
    if run is not None:
        return run.pk
    replanned = services.outflow_fan_out_replan(plan)
    if replanned is not None:
        logger.info("outflow run %s: transfers changed meanwhile; attempt %s", plan["run"], replanned["attempt"])
        services.outflow_fan_out_send(replanned)
    return None


@shared_task(name="outflows.fan_out_failed")
def outflow_fan_out_failed_task(request, exc, traceback, plan: dict) -> None:
    """Errback of the chord: a partition (or the merge) raised; the run fails and the lock is freed."""
    services.outflow_fan_out_fail(plan, f"{type(exc).__name__}: {exc}")


def schedule_outflow_recompute() -> None:
    """Ask for a fresh non-return computation about a minute from now; call after an accepted transfer register.

    Debounced: every call within RECOMPUTE_DEBOUNCE_S seconds of the first
    gives one run, which starts when that window ends and so sees every
    register accepted within it. Scheduling happens when the caller's
    transaction commits (at once outside a transaction). Never raises for a
    Redis outage (cache or broker): the nightly run catches up.
    """

    def _schedule() -> None:
        try:
            if not cache.add(RECOMPUTE_DEBOUNCE_KEY, "1", timeout=RECOMPUTE_DEBOUNCE_S):
                return
            compute_outflows_task.apply_async(countdown=RECOMPUTE_DEBOUNCE_S)
        except REDIS_ERRORS:
            logger.exception("could not schedule an outflow recompute; the nightly run will catch up")
            with contextlib.suppress(*REDIS_ERRORS):
                cache.delete(RECOMPUTE_DEBOUNCE_KEY)

    transaction.on_commit(_schedule)


@shared_task(name="outflows.requeue_stuck_runs")
def requeue_stuck_runs() -> int:
    """Periodic sweeper: re-send runs nobody computes (lost message, dead worker: their number);
    fail lost fanned-out ones. Safe: a finished run is never recomputed.
    """
    services.outflow_runs_fail_lost()
    stuck = services.outflow_runs_stuck()
    for run_id in stuck:
        compute_outflows_task.delay(run_id=run_id)
    return len(stuck)
