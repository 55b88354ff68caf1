"""Outflow runs: the public services that views, tasks, commands and other apps call.

A run reads the transfers set-based (outflows/readers/: one seam, the reader
chosen by settings.OUTFLOW_READER), computes DESIGN section 5 (outflows/compute.py
over outflows/engine.py) and stores the results (outflows/runs.py: lock, lease,
snapshot, stats, status); a run with partitions > 1 may fan out as a Celery
chord (outflows/fanout.py). This module only names them.
"""

from __future__ import annotations

from outflows.compute import OutflowComputation, Registry, outflow_compute
from outflows.fanout import (
    FAN_OUT_ATTEMPTS,
    outflow_fan_out_begin,
    outflow_fan_out_fail,
    outflow_fan_out_finish,
    outflow_fan_out_replan,
    outflow_fan_out_send,
    outflow_partition_compute,
)
from outflows.readers import (
    RawTransfers,
    copy_reader_available,
    partitions_supported,
    read_transfers,
    read_transfers_copy,
    read_transfers_orm,
    warm_up,
)
from outflows.runs import (
    LOCK_KEY,
    LOCK_TIMEOUT_S,
    OutflowRunBusy,
    outflow_run_compute,
    outflow_run_request,
    outflow_runs_fail_lost,
    outflow_runs_stuck,
)

__all__ = [
    "FAN_OUT_ATTEMPTS",
    "LOCK_KEY",
    "LOCK_TIMEOUT_S",
    "OutflowComputation",
    "OutflowRunBusy",
    "RawTransfers",
    "Registry",
    "copy_reader_available",
    "outflow_compute",
    "outflow_fan_out_begin",
    "outflow_fan_out_fail",
    "outflow_fan_out_finish",
    "outflow_fan_out_replan",
    "outflow_fan_out_send",
    "outflow_partition_compute",
    "outflow_run_compute",
    "outflow_run_request",
    "outflow_runs_fail_lost",
    "outflow_runs_stuck",
    "partitions_supported",
    "read_transfers",
    "read_transfers_copy",
    "read_transfers_orm",
    "warm_up",
]
