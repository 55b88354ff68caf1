"""Celery tasks of the outflow analytics: thin wrappers around outflows.services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from kombu.exceptions import OperationalError

from outflows.models import OutflowRun
from outflows.services import OutflowRunBusy, outflow_run_compute

logger = logging.getLogger(__name__)

# Many transfer registers accepted within this many seconds give one recompute.
RECOMPUTE_DEBOUNCE_S = 60
RECOMPUTE_DEBOUNCE_KEY = "outflows:recompute-scheduled"
BUSY_RETRY_S = 60


@shared_task(name="outflows.compute", bind=True, max_retries=30)
def compute_outflows_task(
    self, run_id: int | None = None, as_of: str | None = None, window_days: int = 365, partitions: int = 1
) -> int | None:
    """Compute one outflow run. Idempotent: a finished run is returned as it is.

    run_id: a queued OutflowRun (from outflow_run_request) to fill in, with its
    own parameters; without it a new run is made as of `as_of` (ISO 8601) or now.
    While another run holds the lock the task retries a minute later.
    """
    run = None
    if run_id is not None:
        run = OutflowRun.objects.get(pk=run_id)
        as_of_value, window_days, partitions = run.as_of, run.window_days, run.partitions
    else:
        as_of_value = dt.datetime.fromisoformat(as_of) if as_of else None
    try:
        run = outflow_run_compute(as_of=as_of_value, window_days=window_days, partitions=partitions, run=run)
    except OutflowRunBusy as exc:
        if self.request.is_eager:
            # Embedded default: the run now computing is inline in this process; do not block the caller.
            logger.warning("outflow recompute skipped: another run is computing")
            return None
        raise self.retry(exc=exc, countdown=BUSY_RETRY_S) from exc
    return run.pk


def schedule_outflow_recompute() -> None:
    """Ask for a fresh non-return computation about a minute from now; call after an accepted transfer register.

    Debounced: every call within RECOMPUTE_DEBOUNCE_S seconds of the first
    gives one run, which starts when that window ends and so sees every
    register accepted within it. Scheduling happens when the caller's
    transaction commits (at once outside a transaction). Never raises for a
    broker outage: the nightly run catches up.
    """

    def _schedule() -> None:
        if not cache.add(RECOMPUTE_DEBOUNCE_KEY, "1", timeout=RECOMPUTE_DEBOUNCE_S):
            return
        try:
            compute_outflows_task.apply_async(countdown=RECOMPUTE_DEBOUNCE_S)
        except OperationalError:
            cache.delete(RECOMPUTE_DEBOUNCE_KEY)
            logger.exception("could not schedule an outflow recompute; the nightly run will catch up")

    transaction.on_commit(_schedule)


# A queued run older than this lost its task (Redis restart, killed worker before the ack).
STUCK_RUN_AFTER = dt.timedelta(minutes=10)


@shared_task(name="outflows.requeue_stuck_runs")
def requeue_stuck_runs() -> int:
    """Periodic sweeper: re-send queued runs whose task was lost. Safe: a finished run is never recomputed."""
    cutoff = dt.datetime.now(dt.UTC) - STUCK_RUN_AFTER
    stuck = list(OutflowRun.objects.filter(status="queued", created_at__lt=cutoff).values_list("id", flat=True))
    for run_id in stuck:
        compute_outflows_task.delay(run_id=run_id)
    return len(stuck)
