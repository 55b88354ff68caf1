"""Drill-down of a stat cell to its transfers: each outbound with what came back to it (issue 17 item 1).

The allocation is recomputed on demand, never stored: FIFO runs per (investor_ref, platform) pair
(DESIGN section 5), so an outbound's returned amount depends only on the transfers of its own pair.
For the outbounds asked about (a page, an export chunk) `allocations` reads every transfer of their
pairs up to the run's as_of and runs the engine's own sort and sweep on them (outflows.engine.compute,
per_row=True), with the run's window: the same code and order as the run, so the two cannot drift.
The rows go in ordered by asset, then external_id, so that the engine's stable sort ends in those
tie-breaks between simultaneous outbounds of one pair and operator: DESIGN's external_id, after the
ticker by which the variants' asset cells credit such outbounds (outflows.variants). No canonical
cell depends on that order; the asset cells and the per-transfer amounts do.
Why not stored per run: bench/README_drilldown.md (measured both ways).

The figures of a cell (outflows.cells) added up from its transfers equal the stored OutflowStat row
to the kopeck (`cell_totals`; tested for every cell of a run, and on random sets).
A run's input is a snapshot; `inputs_check` says whether the run's inputs are still the same (the
transfer registers it recorded, outflows.inputs; for a run without that record, its fingerprint).
`cell_source` picks what a cell is listed and allocated from: for a run that recorded its inputs, its
cells' keys name the operators and platforms as it recorded them, and once registers of its period
were superseded or accepted since, the rows are those it read (its registers' rows, live or archived:
outflows.inputs.rows_as_read), so an old run's cells still add up to its figures after any number of
resubmissions; while they are the same (the common case) the live table is read, as for a run
without that record (whose page says when its fingerprint differs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max

from outflows import cells, engine, readers
from outflows.compute import Registry, _positions
from outflows.inputs import RunInputs, client_records_as_read, filings_since, rows_as_read, run_inputs
from outflows.models import Direction, OutflowRun, OutflowStat, TransferChange
from outflows.runs import read_snapshot

CHUNK = 2_000  # outbounds whose pairs are read and swept together (an export, the totals)
INVESTORS_PER_QUERY = 1_000
# Changes to the transfer table this long before a run started may still have been uncommitted
# when it took its snapshot (a long import): after that instant the inputs are compared.
CHANGE_SLACK = dt.timedelta(minutes=30)
FINGERPRINT_CACHE_S = 24 * 3600


@dataclass(frozen=True)
class Allocation:
    """What one outbound got back in a run (kopecks), and its state there."""

    value: int
    returned: int
    matured: bool  # occurred_at + W <= as_of: counted in the share; else pending
    window_closes: dt.datetime  # occurred_at + W: returns after this instant are excess, never credited
    # returned_within[h]: the part of `returned` that came back within engine.CURVE_DAYS[h] days (the curve)
    returned_within: tuple[int, ...] = (0,) * len(engine.CURVE_DAYS)

    @property
    def unreturned(self) -> int:
        return self.value - self.returned


def _kopecks(value) -> int:
    return int(value.scaleb(2))  # exact: value_byn has two decimal places


def _registry_ids(registered: list[int], found) -> list[int]:
    """The registry's ids, then any other id found (a row the run's record does not name: written around
    the intake after the run), so that every row has a position."""
    known = set(registered)
    return registered + sorted({int(pk) for pk in found} - known)


def _registry(source: cells.CellSource) -> Registry:
    """The registry the source's keys are read by: the run's record, else today's."""
    if source.operators is not None and source.platforms is not None:
        return Registry(operators=source.operators, platforms=source.platforms)
    return Registry.read()


def allocations(
    *,
    run: OutflowRun,
    pairs: Iterable[tuple[str, int]],
    registry: Registry | None = None,
    source: cells.CellSource = cells.LIVE,
) -> dict:
    """{transfer id: Allocation} for every OUT transfer of these (investor_ref, platform id) pairs in the run.

    Reads the pairs' transfers from `source` with occurred_at <= run.as_of (by investor: the bloom index)
    and sweeps them with the run's as_of and window; positions (the UNP tie-break) by `registry`, else the
    source's, else today's.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    registry = registry or _registry(source)
    investors = sorted({investor for investor, _ in wanted})
    platforms = sorted({platform for _, platform in wanted})
    rows = []
    for lo in range(0, len(investors), INVESTORS_PER_QUERY):
        rows += [
            row
            for row in source.rows().filter(
                investor_ref__in=investors[lo : lo + INVESTORS_PER_QUERY],
                platform_id__in=platforms,
                occurred_at__lte=run.as_of,
            )
            .values_list("asset", "external_id", "id", "investor_ref", "platform_id", "operator_id", "occurred_at",
                         "direction", "value_byn")
            .iterator(chunk_size=10_000)
            if (row[3], row[4]) in wanted
        ]  # fmt: skip
    rows.sort()  # by asset, external_id: the last tie-breaks (see the module's docstring), kept by the stable sort
    if not rows:
        return {}
    _, _, ids, investor_refs, platform_ids, operator_ids, occurred, directions, values = zip(*rows, strict=True)
    codes: dict[str, int] = {}
    operator_order = _registry_ids([pk for _, pk in registry.operators], set(operator_ids))
    platform_order = _registry_ids([pk for _, pk, _ in registry.platforms], set(platform_ids))
    occurred_us = np.fromiter((engine.epoch_us(t) for t in occurred), np.int64, len(rows))
    arrays = engine.TransferArrays(
        investor=np.fromiter((codes.setdefault(r, len(codes)) for r in investor_refs), np.int64, len(rows)),
        platform=_positions(platform_order, np.asarray(platform_ids, np.int64)),
        occurred_at=occurred_us,
        is_in=np.asarray([d == Direction.IN for d in directions], bool),
        operator=_positions(operator_order, np.asarray(operator_ids, np.int64)),
        value=np.fromiter((_kopecks(v) for v in values), np.int64, len(rows)),
    )
    result = engine.compute(
        arrays,
        as_of_us=engine.epoch_us(run.as_of),
        window_days=run.window_days,
        n_operators=len(operator_order),
        n_platforms=len(platform_order),
        per_row=True,
    )
    window = dt.timedelta(days=run.window_days)
    return {
        ids[i]: Allocation(
            value=int(arrays.value[i]),
            returned=int(result.returned[i]),
            matured=bool(result.matured[i]),
            window_closes=occurred[i] + window,
            returned_within=tuple(int(v) for v in result.returned_within[i]),
        )
        for i in range(len(rows))
        if not arrays.is_in[i]
    }


def allocate(
    run: OutflowRun, transfers: list, *, registry: Registry | None = None, source: cells.CellSource = cells.LIVE
) -> list[tuple]:
    """[(transfer, Allocation)] for outbounds already read from `source` (rows with investor_ref, platform_id)."""
    pairs = {(t.investor_ref, t.platform_id) for t in transfers}
    found = allocations(run=run, pairs=pairs, registry=registry, source=source)
    return [(t, found[t.pk]) for t in transfers]


def cell_rows(
    *, run: OutflowRun, dimension: str, key: str, cohort: str, state: str = "", source: cells.CellSource | None = None
) -> Iterator[tuple]:
    """Every outbound of the cell with its Allocation, in (occurred_at, id) order, CHUNK at a time
    (a sparse cell's by its ids, `sparse_order`), from `source` (default: `cell_source(run)`)."""
    source = cell_source(run) if source is None else source
    transfers = (
        cells.cell_outbounds(run=run, dimension=dimension, key=key, cohort=cohort, state=state, source=source)
        .select_related("operator", "platform")
        .order_by("occurred_at", "id")
    )
    registry = _registry(source)
    name = {"run": run.pk, "dimension": dimension, "key": key, "cohort": cohort, "state": state,
            "as_read": source.as_read}  # fmt: skip
    stat = stat_of(run=run, dimension=dimension, key=key, cohort=cohort)
    ids = sparse_order(run=run, stat=stat, outbounds=transfers, page_size=CHUNK, name=name)
    if ids is not None:
        for lo in range(0, len(ids), CHUNK):
            batch = sorted(transfers.filter(pk__in=ids[lo : lo + CHUNK]), key=lambda t: (t.occurred_at, t.pk))
            yield from allocate(run, batch, registry=registry, source=source)
        return
    after = None
    while True:
        chunk = (
            transfers
            if after is None
            else transfers.filter(occurred_at__gte=after[0]).exclude(occurred_at=after[0], id__lte=after[1])
        )
        batch = list(chunk[:CHUNK])
        if not batch:
            return
        yield from allocate(run, batch, registry=registry, source=source)
        after = (batch[-1].occurred_at, batch[-1].pk)


SPARSE_ENTRIES = 200_000  # index entries a page of a cell may be looked for among, in (occurred_at, id) order
SPARSE_MAX = 50_000
SPARSE_CACHE_S = 600


def sparse_order(
    *, run: OutflowRun, stat: OutflowStat | None, outbounds, page_size: int, name: dict, entries: int | None = None
) -> list[int] | None:
    """The ids of a sparse cell's outbounds in (occurred_at, id) order; None for a dense cell (or a huge one).

    Sparse: the run's counts say a page of page_size rows in that order would be looked for among more
    than `entries` index entries, one heap page each (a small platform, a rare asset: 15 s for a few rows
    at 10 M transfers). Its (occurred_at, id) pairs are read unordered instead (one scan at most, the
    planner's choice), sorted here and kept SPARSE_CACHE_S seconds under `name` for the next pages.
    """
    entries = SPARSE_ENTRIES if entries is None else entries
    if stat is None or page_size * run.input_rows <= entries * max(1, stat.outbound_count):
        return None
    key = "outflows:drilldown:order:" + ":".join(f"{k}={v}" for k, v in sorted(name.items()))
    ids = cache.get(key)
    if ids is None:
        found = sorted(outbounds.order_by().values_list("occurred_at", "pk")[: SPARSE_MAX + 1])
        if len(found) > SPARSE_MAX:
            return None
        ids = [pk for _, pk in found]
        cache.set(key, ids, SPARSE_CACHE_S)
    return ids


@dataclass
class CellTotals:
    """A cell's figures added up from its transfers (kopecks), in the terms of an OutflowStat row."""

    outbound: int = 0
    returned: int = 0
    count: int = 0
    pending_outbound: int = 0
    pending_returned: int = 0
    pending_count: int = 0
    returned_within: list[int] = field(default_factory=lambda: [0] * len(engine.CURVE_DAYS))  # matured ones

    def add(self, allocation: Allocation) -> None:
        if allocation.matured:
            self.outbound += allocation.value
            self.returned += allocation.returned
            self.count += 1
            for h, amount in enumerate(allocation.returned_within):
                self.returned_within[h] += amount
        else:
            self.pending_outbound += allocation.value
            self.pending_returned += allocation.returned
            self.pending_count += 1

    def equals(self, stat: OutflowStat) -> bool:
        """Equal to the stored row to the kopeck (outbound, returned, unreturned, pending, count, the curve)."""
        curve = [_kopecks(amount) for amount in stat.returned_curve]
        return (
            self.outbound == _kopecks(stat.outbound_value_byn)
            and self.returned_within == curve
            and self.returned == _kopecks(stat.returned_value_byn)
            and self.outbound - self.returned == _kopecks(stat.unreturned_value_byn)
            and self.pending_outbound == _kopecks(stat.pending_outbound_value_byn)
            and self.pending_returned == _kopecks(stat.pending_returned_value_byn)
            and self.count == stat.outbound_count
        )


def cell_totals(
    *, run: OutflowRun, dimension: str, key: str, cohort: str, source: cells.CellSource | None = None
) -> CellTotals:
    """The cell's figures added up from every one of its transfers (all of them are read: small cells,
    tests, exports; a page shows its stored row and the allocation of the transfers it lists)."""
    totals = CellTotals()
    for _, allocation in cell_rows(run=run, dimension=dimension, key=key, cohort=cohort, source=source):
        totals.add(allocation)
    return totals


def cell_size(
    *, run: OutflowRun, dimension: str, key: str, cohort: str, cap: int, source: cells.CellSource | None = None
) -> int:
    """How many outbounds the cell has, counted up to cap + 1."""
    source = cell_source(run) if source is None else source
    outbounds = cells.cell_outbounds(run=run, dimension=dimension, key=key, cohort=cohort, source=source)
    return outbounds.order_by().values("pk")[: cap + 1].count()


@dataclass(frozen=True)
class InputsCheck:
    """Whether the transfers a run read are still what it read.

    changed: they are not; compared: the transfers changed since the run and their fingerprint was compared
    (or, by the run's registers, they changed);
    filings_added / filings_gone: transfer registers read now and not by the run, and the other way
    (by the run's record, outflows.inputs); fingerprint: of the inputs now, when it had to be read.
    """

    changed: bool
    compared: bool
    filings_added: tuple[int, ...] = ()
    filings_gone: tuple[int, ...] = ()
    fingerprint: str = ""
    # An operator's UNP, a platform's slug or country the run keyed its cells by has been edited since
    # (the run's record, outflows.inputs): its cells' keys are read by the registry as it recorded it.
    registry_changed: bool = False
    recorded: RunInputs | None = field(default=None, compare=False, repr=False)  # the run's record, if it kept one


def _transfers_version() -> str:
    # Rows are only added to TransferChange: a later snapshot that sees more of them has a higher count.
    found = TransferChange.objects.aggregate(n=Count("id"), last=Max("id"))
    return f"{found['n']}-{found['last']}"


def inputs_fingerprint(run: OutflowRun) -> str:
    """The fingerprint of the transfers a run with this as_of would read now (one full read)."""
    with read_snapshot():
        return readers.fingerprint(readers.read_transfers(as_of=run.as_of))


def _by_filings(run: OutflowRun, recorded: RunInputs) -> InputsCheck:
    """The run's transfer registers (id, SHA-256) against those a run with its as_of reads now: a row is
    live exactly while its register is accepted (outflows.inputs), so equal sets mean the same rows."""
    added, gone = filings_since(run=run, recorded=recorded.filings)
    changed = bool(added or gone)
    return InputsCheck(changed=changed, compared=changed, filings_added=added, filings_gone=gone, recorded=recorded)


def inputs_check(run: OutflowRun) -> InputsCheck:
    """Same inputs as the run? A run that recorded its transfer registers (outflows.inputs) is compared
    by them (one small query). Else, on PostgreSQL, the transfer table's changes (a statement trigger)
    say whether anything was written since the run began; only then is the fingerprint of the run's
    inputs computed again (one full read, once per state of the table, cached) and compared."""
    recorded = run_inputs(run=run)
    if recorded is not None:
        found = _by_filings(run, recorded)
        now = Registry.read()
        operators, platforms = {pk: unp for unp, pk in now.operators}, {pk: (s, c) for s, pk, c in now.platforms}
        edited = any(operators.get(pk) != unp for unp, pk in recorded.operators) or any(
            platforms.get(pk) != (slug, country) for slug, pk, country in recorded.platforms
        )
        return replace(found, registry_changed=edited) if edited else found
    if connection.vendor == "postgresql":
        since = (run.started_at or run.created_at) - CHANGE_SLACK
        if not TransferChange.objects.filter(changed_at__gte=since).exists():
            return InputsCheck(changed=False, compared=False)
        key = f"outflows:drilldown:inputs:{run.pk}:{_transfers_version()}"
        fingerprint = cache.get(key)
        if fingerprint is None:
            fingerprint = inputs_fingerprint(run)
            cache.set(key, fingerprint, FINGERPRINT_CACHE_S)
    else:
        fingerprint = inputs_fingerprint(run)
    return InputsCheck(changed=fingerprint != run.input_fingerprint, compared=True, fingerprint=fingerprint)


def cell_source(run: OutflowRun, check: InputsCheck | None = None) -> cells.CellSource:
    """What the run's cells are listed and allocated from (check: `inputs_check(run)`, read when omitted).

    A run that recorded its inputs: keys by the registry it recorded; its rows and client records as it
    read them (outflows.inputs.rows_as_read, client_records_as_read) when registers of its period were
    accepted or superseded since, else the live tables (the same rows, through the live table's indexes).
    A run without that record: the live table and today's registry.
    """
    check = inputs_check(run) if check is None else check
    recorded = check.recorded
    if recorded is None:
        return cells.LIVE
    if not (check.filings_added or check.filings_gone):
        return cells.CellSource(operators=recorded.operators, platforms=recorded.platforms)
    return cells.CellSource(
        transfers=rows_as_read(added=check.filings_added, gone=check.filings_gone),
        operators=recorded.operators,
        platforms=recorded.platforms,
        client_records=client_records_as_read(added=check.filings_added, gone=check.filings_gone),
        as_read=True,
    )


def stat_of(*, run: OutflowRun, dimension: str, key: str, cohort: str) -> OutflowStat | None:
    return OutflowStat.objects.filter(run=run, dimension=dimension, key=key, cohort=cohort).first()
