"""One computation of DESIGN section 5 in this process: transfers read -> engine -> stat cells (nothing stored).

The registry the cells are keyed by (operators by UNP, platforms by slug), the
ids of the transfers turned into its positions, and the engine's result
aggregated by dimension, key and cohort. Used by a run (outflows/runs.py) and
by each partition of a fanned-out run (outflows/fanout.py).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from numba import njit

from operators.models import ForeignPlatform, Operator
from outflows import engine, readers, uncertainty
from outflows.memory import reused_memory
from outflows.readers import RawTransfers
from outflows.variant_summary import variant_cells, variant_inputs


def _positions(registry_ids: list[int], ids: np.ndarray) -> np.ndarray:
    """ids rewritten in place as their positions in registry_ids (the array is reused: freshly allocated
    memory is slow to fault in at national scale); RuntimeError for an id the run did not read."""
    lut = np.full(max(max(registry_ids, default=0), int(ids.max(initial=0))) + 1, -1, np.int64)
    lut[np.asarray(registry_ids, dtype=np.int64)] = np.arange(len(registry_ids), dtype=np.int64)
    if not ids.flags.writeable:  # e.g. a column shared with an Arrow buffer
        ids = ids.copy()
    if not _lookup_in_place(ids, lut):
        raise RuntimeError("a transfer names an operator or platform that the run did not read")
    return ids


@njit(cache=True, nogil=True)
def _lookup_in_place(ids, lut):
    found = True
    for i in range(ids.shape[0]):
        position = lut[ids[i]]
        found &= position >= 0
        ids[i] = position
    return found


@dataclass
class Registry:
    """The operators (by UNP: the tie-break of section 5) and platforms (by slug) a run reads by.

    Plain lists, so that a fan-out plan carries them to its partition tasks as JSON.
    """

    operators: list  # [unp, id]
    platforms: list  # [slug, id, country]

    @classmethod
    def read(cls) -> Registry:
        return cls(
            operators=[list(row) for row in sorted(Operator.objects.values_list("unp", "id"))],
            platforms=[list(row) for row in sorted(ForeignPlatform.objects.values_list("slug", "id", "country"))],
        )


def compute_cells(
    raw: RawTransfers,
    registry: Registry,
    *,
    as_of: dt.datetime,
    window_days: int,
    partitions: int = 1,
) -> tuple[dict[tuple[str, str, str], np.ndarray], int, tuple[np.ndarray, np.ndarray]]:
    """The stat cells, the excess return and the bootstrap sums (outflows.uncertainty) of the transfers read.

    partitions > 1 splits the investors by a stable hash of investor_ref and sums
    the partial results: an investor's pairs never cross partitions and the sums
    are integers, so the figures (distinct investors too) are those of one partition exactly.

    With settings.OUTFLOW_VARIANTS the cells also hold the cross-tabs and the variants' pseudo-cells
    (outflows.variant_summary), the investor-level variant too: `raw` may be one fanned-out partition,
    which holds every pair of its investors.

    `raw` is spent: its platform_id and operator_id become the registry's positions in place, and with one
    partition its keyed columns are released once the sort has packed them.
    """
    arrays = engine.TransferArrays(
        investor=raw.investor,
        platform=_positions([pk for _, pk, _ in registry.platforms], raw.platform_id),
        occurred_at=raw.occurred_at,
        is_in=raw.is_in,
        operator=_positions([pk for _, pk in registry.operators], raw.operator_id),
        value=raw.value,
    )
    cohorts = engine.cohort_axis(arrays.occurred_at)  # one axis for every partition
    # Issue 17 items 2-3 (cross-tabs, excess apart, the variants): their per-row inputs; the asset is the
    # canonical sort's last tie-break, so that the canonical sweep itself sums the cross-tabs (detail).
    inputs = None
    if settings.OUTFLOW_VARIANTS:
        inputs = variant_inputs(raw, arrays, operator_ids=[pk for _, pk in registry.operators])
        arrays.asset = inputs.extra.asset
    compute_kwargs = {
        "as_of_us": engine.epoch_us(as_of),
        "window_days": window_days,
        "n_operators": len(registry.operators),
        "n_platforms": len(registry.platforms),
        "per_row": False,
        "keep_rows": True,  # the sorted rows with what each got back: the bootstrap's (and the variants') input
    }
    # One partition: the canonical sweep sums the cross-tabs as it goes (detail).
    detail = inputs is not None and partitions <= 1
    engine_kwargs = {**compute_kwargs, "detail": detail, "classes": inputs.classes() if detail else None}
    boot_kwargs = {
        "investor_hash": raw.investor_hash,
        "matured_until_us": compute_kwargs["as_of_us"] - window_days * engine.US_PER_DAY,
        "n_operators": len(registry.operators),
    }
    if partitions <= 1:
        # raw is spent: the sort may release the columns it packs (their memory is reused; outflows/memory.py).
        raw.investor = raw.platform_id = raw.occurred_at = raw.is_in = raw.operator_id = None
        result = engine.compute(arrays, cohorts=cohorts, consume=True, **engine_kwargs)
        bootstrap = uncertainty.resample_sums(result.rows, **boot_kwargs)
    else:
        part = engine.partition_of(raw.investor_hash[raw.investor], partitions)
        result = bootstrap = None
        for p in range(partitions):
            index = np.flatnonzero(part == p)
            partial = engine.compute(arrays.take(index), cohorts=cohorts, **compute_kwargs)
            sums, investors = uncertainty.resample_sums(partial.rows, **boot_kwargs)
            bootstrap = (sums, investors) if bootstrap is None else (bootstrap[0] + sums, bootstrap[1] + investors)
            partial.rows = None
            result = partial if result is None else result.merge(partial)
    cells = engine.aggregate(
        result,
        operator_keys=[unp for unp, _ in registry.operators],
        platform_keys=[slug for slug, _, _ in registry.platforms],
        platform_countries=[country for _, _, country in registry.platforms],
    )
    if inputs is not None:
        extra = variant_cells(
            inputs, arrays, result.rows if partitions <= 1 else None,
            operator_keys=[unp for unp, _ in registry.operators],
            platform_keys=[slug for slug, _, _ in registry.platforms],
            platform_countries=[country for _, _, country in registry.platforms],
            cohorts=cohorts, as_of_us=compute_kwargs["as_of_us"], window_days=window_days,
        )  # fmt: skip
        cells.update(extra)
    return cells, result.excess_return, bootstrap


@dataclass
class OutflowComputation:
    """What a computation produced, before it is stored."""

    cells: dict[tuple[str, str, str], np.ndarray]
    excess_return: int
    input_rows: int
    fingerprint: str
    timings: dict[str, float]
    uncertainty: dict
    registry: Registry | None = None  # the operators and platforms the cells are keyed by (outflows.inputs)


def outflow_compute(
    *,
    as_of: dt.datetime,
    window_days: int = 365,
    partitions: int = 1,
    reader: str | None = None,
    filings: list[int] | None = None,
    registry: Registry | None = None,
) -> OutflowComputation:
    """Compute DESIGN section 5 over every transfer with occurred_at <= as_of, in this process.

    Reads only; stores nothing. partitions > 1 computes the partitions one
    after another (see `compute_cells`); the Celery task fans them out instead.
    A past run is re-derived (outflows.rederive) with the `filings` it read (their rows, live
    or archived) and the `registry` it keyed its cells by; by default the live rows and registry.
    """
    timings: dict[str, float] = {}
    with reused_memory():
        started = time.perf_counter()
        raw = readers.read_transfers(
            as_of=as_of, reader=reader, expected_rows=readers.estimated_rows(), filings=filings
        )
        fingerprint = readers.fingerprint(raw)
        timings["read_s"] = round(time.perf_counter() - started, 3)
        mark = time.perf_counter()
        registry = registry or Registry.read()
        input_rows = len(raw.investor)
        cells, excess, (sums, investors) = compute_cells(
            raw, registry, as_of=as_of, window_days=window_days, partitions=partitions
        )
        del raw
        timings["compute_s"] = round(time.perf_counter() - mark, 3)
    return OutflowComputation(
        cells=cells,
        excess_return=excess,
        input_rows=input_rows,
        fingerprint=fingerprint,
        timings=timings,
        uncertainty=uncertainty.summary(sums, investors, [unp for unp, _ in registry.operators]),
        registry=registry,
    )
