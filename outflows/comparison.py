"""Two finished runs side by side, cell by cell (issue 17 item 6): different windows, dates or inputs.

A cell is (dimension, key, cohort). Each one present in either run is listed with
both runs' figures and the change from A to B: in the share (percentage
points), the matured outbound and the unreturned value. What differs in their
inputs is said too: the transfer registers one run read and the other did not
(a resubmission between them shows as the old filing in A, its replacement in B).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from operators.models import RegistrationFiling
from outflows.inputs import run_inputs
from outflows.models import OutflowRun, OutflowStat, RunStatus

FIGURES = (
    "outbound_value_byn",
    "returned_value_byn",
    "unreturned_value_byn",
    "non_return_share",
    "pending_outbound_value_byn",
    "outbound_count",
)
SAME, CHANGED, ONLY_A, ONLY_B = "same", "changed", "only_a", "only_b"


@dataclass
class CellComparison:
    dimension: str
    key: str
    cohort: str
    a: dict | None  # FIGURES of run A's cell, None when A has no such cell
    b: dict | None

    @property
    def state(self) -> str:
        if self.a is None:
            return ONLY_B
        if self.b is None:
            return ONLY_A
        return SAME if self.a == self.b else CHANGED

    def _delta(self, name: str) -> Decimal | None:
        before = (self.a or {}).get(name) if self.a is not None else Decimal(0)
        after = (self.b or {}).get(name) if self.b is not None else Decimal(0)
        if before is None or after is None:
            return None
        return after - before

    @property
    def share_points(self) -> Decimal | None:
        """B's share minus A's, in percentage points (None when either has nothing matured)."""
        if self.a is None or self.b is None:
            return None
        delta = self._delta("non_return_share")
        return None if delta is None else delta * 100

    @property
    def outbound_delta(self) -> Decimal | None:
        return self._delta("outbound_value_byn")

    @property
    def unreturned_delta(self) -> Decimal | None:
        return self._delta("unreturned_value_byn")


def finished_runs(*, limit: int = 100) -> list[OutflowRun]:
    """The latest finished runs, to choose two from."""
    return list(OutflowRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk")[:limit])


def _cells(run: OutflowRun, dimension: str | None) -> dict[tuple[str, str, str], dict]:
    stats = OutflowStat.objects.filter(run=run)
    if dimension:
        stats = stats.filter(dimension=dimension)
    return {
        (row["dimension"], row["key"], row["cohort"]): {name: row[name] for name in FIGURES}
        for row in stats.values("dimension", "key", "cohort", *FIGURES)
    }


def runs_compare(
    *, a: OutflowRun, b: OutflowRun, dimension: str | None = None, changed_only: bool = False
) -> list[CellComparison]:
    """Every cell of either run (of one dimension, if given), ordered by dimension, key and cohort."""
    cells_a, cells_b = _cells(a, dimension), _cells(b, dimension)
    rows = [
        CellComparison(*cell, a=cells_a.get(cell), b=cells_b.get(cell))
        for cell in sorted(cells_a.keys() | cells_b.keys())
    ]
    return [row for row in rows if row.state != SAME] if changed_only else rows


@dataclass
class InputsDifference:
    """The transfer registers only one of the two runs read (None: a run kept no record of its inputs)."""

    only_a: list[RegistrationFiling] | None
    only_b: list[RegistrationFiling] | None
    same_filings: bool | None


def inputs_difference(*, a: OutflowRun, b: OutflowRun, limit: int = 50) -> InputsDifference:
    inputs_a, inputs_b = run_inputs(run=a), run_inputs(run=b)
    if inputs_a is None or inputs_b is None:
        return InputsDifference(only_a=None, only_b=None, same_filings=None)
    read_a = dict(inputs_a.filings)
    read_b = dict(inputs_b.filings)
    only_a = sorted(pk for pk in read_a if read_b.get(pk) != read_a[pk])[:limit]
    only_b = sorted(pk for pk in read_b if read_a.get(pk) != read_b[pk])[:limit]
    filings = RegistrationFiling.objects.select_related("operator").in_bulk(only_a + only_b)
    return InputsDifference(
        only_a=[filings[pk] for pk in only_a if pk in filings],
        only_b=[filings[pk] for pk in only_b if pk in filings],
        same_filings=read_a == read_b,
    )
