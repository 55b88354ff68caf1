"""Re-deriving a past run (issue 17 item 6): its figures and fingerprint again, after any resubmissions.

A finished run records what it read (outflows.inputs): the transfer and client
registers (id and SHA-256) and the registry its cells are keyed by. Supersession moves a
register's rows to the archive instead of deleting them, so the rows of exactly
those filings are still there, live or archived. `outflow_rederive` reads them
through the run's own reader seam (outflows.readers, `filings=`), computes with
the same engine, as_of, window and registry, and compares every stat cell, the
excess return, the input row count and the fingerprint with what the run stored.
Nothing is stored: the run stays as it was, and no new run appears in the lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from operators.models import RegistrationFiling
from outflows.clients import records_of_filings
from outflows.compute import OutflowComputation, Registry, outflow_compute
from outflows.inputs import RunInputs, run_inputs
from outflows.models import OutflowRun, RunStatus
from outflows.runs import STAT_COLUMNS, _kopecks_to_byn, _stat_values, read_snapshot
from outflows.variant_summary import split_cells


class RunNotRederivable(Exception):
    """The run is not finished, or finished before runs recorded what they read."""


@dataclass
class Rederivation:
    """A run computed again from its own inputs, beside what it stored."""

    run: OutflowRun
    inputs: RunInputs
    computation: OutflowComputation
    rows: list[dict]  # the recomputed stat rows, STAT_COLUMNS each (Decimals, share None when nothing matured)
    differences: list[dict] = field(default_factory=list)  # {"cell": (dimension, key, cohort), "stored", "now"}
    filings_changed: list[int] = field(default_factory=list)  # filings whose SHA-256 is no longer the recorded one

    @property
    def fingerprint_same(self) -> bool:
        return self.computation.fingerprint == self.run.input_fingerprint

    @property
    def excess_same(self) -> bool:
        return _kopecks_to_byn(self.computation.excess_return) == self.run.excess_return_byn

    @property
    def input_rows_same(self) -> bool:
        return self.computation.input_rows == self.run.input_rows

    @property
    def uncertainty_same(self) -> bool | None:
        """The bootstrap interval again (None: the run stored none)."""
        if not self.run.uncertainty:
            return None
        return _json_equal(self.computation.uncertainty, self.run.uncertainty)

    @property
    def reproduced(self) -> bool:
        """Every stat cell, the excess return, the input row count and the fingerprint are the run's own."""
        return (
            not self.differences
            and not self.filings_changed
            and self.fingerprint_same
            and self.excess_same
            and self.input_rows_same
        )


def _json_equal(a, b) -> bool:
    return json.loads(json.dumps(a, default=str)) == json.loads(json.dumps(b, default=str))


def outflow_rederive(*, run: OutflowRun | int, reader: str | None = None) -> Rederivation:
    """Compute a finished run again from exactly what it read; RunNotRederivable when it kept no record."""
    run_id = run.pk if isinstance(run, OutflowRun) else int(run)
    run = OutflowRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.FINISHED:
        raise RunNotRederivable(f"run {run_id} is not a finished run")
    inputs = run_inputs(run=run)
    if inputs is None:
        raise RunNotRederivable(f"run {run_id} finished before runs recorded the filings they read")
    # The client registers too (the residency and KYC cells): those it read, live or archived since.
    with read_snapshot(), records_of_filings(inputs.filing_ids):
        computation = outflow_compute(
            as_of=run.as_of,
            window_days=run.window_days,
            partitions=run.partitions,
            reader=reader,
            filings=inputs.filing_ids,
            registry=Registry(operators=inputs.operators, platforms=inputs.platforms),
        )
        now_sha = dict(RegistrationFiling.objects.filter(pk__in=inputs.filing_ids).values_list("pk", "sha256"))
    stat_cells, _variants = split_cells(computation.cells)  # the variants' pseudo-cells are no stat rows
    rows = [dict(zip(STAT_COLUMNS, row, strict=True)) for row in _stat_values(stat_cells)]
    stored = {(row["dimension"], row["key"], row["cohort"]): row for row in run.stats.values(*STAT_COLUMNS)}
    now = {(row["dimension"], row["key"], row["cohort"]): row for row in rows}
    differences = [
        {"cell": cell, "stored": stored.get(cell), "now": now.get(cell)}
        for cell in sorted(stored.keys() | now.keys())
        if stored.get(cell) != now.get(cell)
    ]
    return Rederivation(
        run=run,
        inputs=inputs,
        computation=computation,
        rows=rows,
        differences=differences,
        filings_changed=[pk for pk, sha256 in inputs.filings if now_sha.get(pk) != sha256],
    )
