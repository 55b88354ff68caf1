"""Fan-out: one outflow run as a Celery chord of partition tasks, merged exactly.

The investors are split by a hash computed in PostgreSQL (`_partition_filter` in
outflows/readers/pgcopy.py), so each partition task reads only its share of
the table, on whichever worker takes it, and the cells of the partitions add
up exactly (integer sums over disjoint investors, each with all its pairs: the
investor-level variant and the distinct investors of the interval add up too).
The tasks run in transactions of their own, so they cannot share one snapshot;
instead every task counts the
TransferChange rows in its snapshot and the merge accepts the partitions only
if all saw the count of the plan: then all read the same transfers. Otherwise
the run is planned again (a filing was accepted meanwhile), at most
FAN_OUT_ATTEMPTS times. The lock is held from the plan to the merge (or the
failure). This module owns the chord; the tasks (outflows/tasks.py) are named
by their registered names, so it never imports them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import numpy as np
from celery import chord, current_app

from outflows import readers, runs, uncertainty
from outflows.compute import Registry, compute_cells
from outflows.inputs import RunInputs, run_filings_read
from outflows.memory import reused_memory
from outflows.models import OutflowRun, RunStatus, TransferChange

logger = logging.getLogger(__name__)

# The registered names of the tasks of outflows/tasks.py.
PARTITION_TASK = "outflows.compute_partition"
MERGE_TASK = "outflows.merge_partitions"
FAILED_TASK = "outflows.fan_out_failed"

FAN_OUT_ATTEMPTS = 3


def _transfer_version() -> int:
    return TransferChange.objects.count()


def _plan_snapshot(as_of: dt.datetime) -> dict:
    """The version of the transfers, the registry and the filings the run reads (outflows.inputs), in one snapshot."""
    with runs.read_snapshot():
        version = _transfer_version()
        registry = Registry.read()
        filings = run_filings_read(as_of=as_of)
    return {"version": version, "operators": registry.operators, "platforms": registry.platforms, "filings": filings}


def outflow_fan_out_begin(
    *, as_of: dt.datetime, window_days: int, partitions: int, run: OutflowRun | None = None, requested_by=None
) -> dict | None:
    """Take the lock and start the run; the plan every partition task reads by (None: already finished).

    OutflowRunBusy when another run holds the lock. The plan is plain JSON (it travels in task messages).
    """
    runs.check_parameters(as_of, window_days, partitions)
    token = runs.lock_take()
    try:
        run = runs.run_start(
            run, as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by
        )
        if run.status == RunStatus.FINISHED:
            runs.lock_release(token)
            return None
        return {
            "run": run.pk,
            "token": token,
            "as_of": as_of.isoformat(),
            "window_days": window_days,
            "partitions": partitions,
            "attempt": 1,
            "reader": readers.reader_for_run(),
            **_plan_snapshot(as_of),
        }
    except Exception:
        runs.lock_release(token)
        raise


def outflow_partition_compute(plan: dict, partition: int) -> dict:
    """Read and compute partition `partition` of the plan: its cells and fingerprint part, as JSON."""
    started = time.perf_counter()
    as_of = dt.datetime.fromisoformat(plan["as_of"])
    n = plan["partitions"]
    with reused_memory():  # outflows/memory.py
        with runs.read_snapshot():
            if _transfer_version() != plan["version"]:
                return {"partition": partition, "stale": True}
            raw = readers.read_transfers(
                as_of=as_of,
                reader=plan.get("reader", "copy"),
                expected_rows=readers.estimated_rows() // n,
                partition=(partition, n),
            )
            rows, total = readers.fingerprint_parts(raw)
        read_s = time.perf_counter() - started
        registry = Registry(operators=plan["operators"], platforms=plan["platforms"])
        cells, excess, (sums, investors) = compute_cells(raw, registry, as_of=as_of, window_days=plan["window_days"])
        del raw
    return {
        "partition": partition,
        "stale": False,
        "rows": rows,
        "fingerprint_sum": total,
        "excess_return": excess,
        "cells": [[*key, [int(v) for v in metrics]] for key, metrics in cells.items()],
        # investors: distinct investors with a matured outbound per operator, then of any operator.
        "bootstrap": {"sums": sums.tolist(), "investors": investors.tolist()},
        "read_s": round(read_s, 3),
        "compute_s": round(time.perf_counter() - started - read_s, 3),
    }


def outflow_fan_out_finish(plan: dict, partials: list[dict]) -> OutflowRun | None:
    """Merge the partitions into the run and release the lock; None if a partition saw other transfers.

    The caller then plans again (`outflow_fan_out_replan`).
    """
    if sorted(p["partition"] for p in partials) != list(range(plan["partitions"])):
        raise RuntimeError("the merge did not receive every partition exactly once")
    if any(p["stale"] for p in partials):
        return None
    run = OutflowRun.objects.get(pk=plan["run"])
    try:
        cells: dict[tuple[str, str, str], np.ndarray] = {}
        for partial in partials:
            for dimension, key, cohort, metrics in partial["cells"]:
                values = np.asarray(metrics, dtype=np.int64)
                cell = (dimension, key, cohort)
                cells[cell] = cells[cell] + values if cell in cells else values
        rows = sum(p["rows"] for p in partials)
        # Same weights for the same investor in every partition (outflows.uncertainty): the sums add up.
        sums = sum(np.asarray(p["bootstrap"]["sums"], dtype=np.int64) for p in partials)
        # Every investor lies in one partition with all its pairs: the distinct investors add up exactly.
        investors = sum(np.asarray(p["bootstrap"]["investors"], dtype=np.int64) for p in partials)
        runs.run_finish(
            run,
            cells=cells,
            excess_return=sum(p["excess_return"] for p in partials),
            input_rows=rows,
            fingerprint=readers.fingerprint_digest(rows, sum(p["fingerprint_sum"] for p in partials)),
            timings={
                "partitions": plan["partitions"],
                "attempts": plan["attempt"],
                "read_s": max(p["read_s"] for p in partials),  # the slowest partition's
                "compute_s": max(p["compute_s"] for p in partials),
            },
            uncertainty=uncertainty.summary(sums, investors, [unp for unp, _ in plan["operators"]]),
            inputs=RunInputs(filings=plan["filings"], operators=plan["operators"], platforms=plan["platforms"])
            if "filings" in plan  # a plan made before runs kept their inputs has none
            else None,
        )
    except Exception as exc:
        logger.exception("outflow run %s failed in its merge", run.pk)
        outflow_fan_out_fail(plan, f"{type(exc).__name__}: {exc}")
        raise
    runs.lock_release(plan["token"])
    return run


def outflow_fan_out_replan(plan: dict) -> dict | None:
    """A new plan for a run whose partitions saw different transfers; None (run failed) after the last attempt."""
    if plan["attempt"] >= FAN_OUT_ATTEMPTS:
        outflow_fan_out_fail(plan, f"the transfers changed during each of {FAN_OUT_ATTEMPTS} attempts")
        return None
    return {**plan, "attempt": plan["attempt"] + 1, **_plan_snapshot(dt.datetime.fromisoformat(plan["as_of"]))}


def outflow_fan_out_fail(plan: dict, error: str) -> None:
    """Mark the run failed (keeping the error) and release the lock."""
    logger.error("outflow run %s failed: %s", plan["run"], error)
    runs.run_fail(plan["run"], error)
    runs.lock_release(plan["token"])


def outflow_fan_out_send(plan: dict) -> None:
    """One partition task per partition, on any worker; the merge runs when all have answered."""
    header = [current_app.signature(PARTITION_TASK, args=(plan, p)) for p in range(plan["partitions"])]
    errback = current_app.signature(FAILED_TASK, kwargs={"plan": plan})
    chord(header)(current_app.signature(MERGE_TASK, args=(plan,)).on_error(errback))
