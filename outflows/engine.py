"""The non-return computation of DESIGN section 5, on integer arrays.

No Django here: a reader (outflows/readers/) reads transfers into arrays,
outflows/compute.py runs this module on them, outflows/runs.py stores the
result. Money is integer kopecks (int64) from end to end, so every sum is
exact; there is no float anywhere on the money path.

Why one module of about 840 lines: the packed sort key's layout (`_pack_keys`,
`_row`, `_decode_rows`), the radix sort on it and the sweep that decodes it
(with the cross-tabs it sums as it credits, issue 17) are one compiled
pipeline; split up, that layout would be spread over modules that must change
together.

Why numba: the definition is a FIFO queue per (investor_ref, platform) with
windows that close. As one compiled sweep over rows sorted by a single packed
64-bit key it is a few readable lines, linear, exact in int64, and a small
part of a run whose time goes to reading from PostgreSQL (figures in
bench/README_outflows.md).

Orders that decide the figures (DESIGN section 5): pair, occurred_at, OUT
before IN, reporting operator UNP. Rows equal on all four are indistinguishable
for every reported figure (same pair, instant, direction, operator, hence the
same cohort, platform, country and maturity), so external_id need not be part
of the sort: whichever of them comes first, every group's sums are the same.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from numba import njit

MINSK = ZoneInfo("Europe/Minsk")
US_PER_DAY = 86_400 * 1_000_000
# Horizons of the return curve, in days (issue 4: "returned within 30, 90, 180, 365 days").
CURVE_DAYS = (30, 90, 180, 365)

# Columns of the per-cell metric arrays (last axis of by_operator / by_platform).
M_OUTBOUND = 0  # value of matured outbounds
M_RETURNED = 1  # returned to matured outbounds
M_PENDING_OUTBOUND = 2  # value of outbounds not yet matured
M_PENDING_RETURNED = 3  # returned so far to outbounds not yet matured
M_COUNT = 4  # number of matured outbounds
M_PENDING_COUNT = 5  # number of outbounds not yet matured
M_CURVE = 6  # M_CURVE + k: returned to matured outbounds within CURVE_DAYS[k] days
N_METRICS = M_CURVE + len(CURVE_DAYS)


@dataclass
class TransferArrays:
    """Transfers as parallel arrays (any order). Codes are dense indexes into small tables.

    operator codes must be numbered in the order of the operators' UNPs: the
    sweep breaks ties between simultaneous outbounds of one pair by that code.
    """

    investor: np.ndarray  # int64 code of investor_ref (equal code <=> equal string)
    platform: np.ndarray  # int64 index into the platform table
    occurred_at: np.ndarray  # int64 microseconds since the Unix epoch, UTC
    is_in: np.ndarray  # bool: True for IN (return), False for OUT
    operator: np.ndarray  # int64 index into the operator table, ordered by UNP
    value: np.ndarray  # int64 value_byn in kopecks
    # int64 dense asset code in ticker order, when the variants read it (outflows.variants): the last
    # tie-break between simultaneous outbounds of one pair and operator, so that the asset cross-tab
    # credits the lower ticker first. No canonical figure depends on it.
    asset: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.occurred_at)

    def release_keyed(self) -> None:
        """Drop the columns the sort key holds (investor, platform, occurred_at, is_in, operator) once it is
        packed: their memory goes to the sort's own arrays (outflows/memory.py). The value and asset stay."""
        self.investor = self.platform = self.occurred_at = self.is_in = self.operator = None

    def take(self, index: np.ndarray) -> TransferArrays:
        return TransferArrays(
            investor=self.investor[index],
            platform=self.platform[index],
            occurred_at=self.occurred_at[index],
            is_in=self.is_in[index],
            operator=self.operator[index],
            value=self.value[index],
            asset=None if self.asset is None else self.asset[index],
        )


@dataclass
class ClassColumns:
    """The investor classes of each row (input order) for the cross-tabs of a detailed sweep (sweep_rows):
    residency and KYC dense codes (0: none known; outflows.clients) and how many of each, and of assets."""

    residency: np.ndarray
    kyc: np.ndarray
    n_assets: int
    n_residency: int
    n_kyc: int


@dataclass
class EngineResult:
    """What one sweep found.

    by_operator[c, o, m] and by_platform[c, p, m] hold metric m (M_* above) of
    the outbounds of cohort c reported by operator o / sent to platform p.
    returned[i] is what row i (an OUT) got back, in the input's order; 0 for IN.
    """

    cohorts: list[str]  # "YYYY-MM" labels of the cohort axis
    by_operator: np.ndarray
    by_platform: np.ndarray
    excess_return: int
    returned: np.ndarray | None
    matured: np.ndarray | None
    rows: SortedRows | None = None  # the sorted rows, when compute(keep_rows=True): outflows.variants reads them
    returned_within: np.ndarray | None = None  # per_row: [i, h] of returned[i] came back within CURVE_DAYS[h]

    def merge(self, other: EngineResult) -> EngineResult:
        """Sum of two results over disjoint sets of pairs (exact: integer sums)."""
        assert self.cohorts == other.cohorts
        return EngineResult(
            cohorts=self.cohorts,
            by_operator=self.by_operator + other.by_operator,
            by_platform=self.by_platform + other.by_platform,
            excess_return=self.excess_return + other.excess_return,
            returned=None,
            matured=None,
        )


def epoch_us(value: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact, no float)."""
    delta = value.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass
class CohortAxis:
    """Calendar months in Europe/Minsk: "YYYY-MM" labels and each month's first instant (µs, UTC)."""

    starts: np.ndarray
    labels: list[str]

    def index(self, occurred_at: np.ndarray) -> np.ndarray:
        """The cohort of each instant."""
        return (np.searchsorted(self.starts, occurred_at, side="right") - 1).astype(np.int64, copy=False)


def cohort_axis(occurred_at: np.ndarray) -> CohortAxis:
    """The months from the earliest to the latest instant.

    Month starts are converted with zoneinfo once per month (Minsk's offset has
    changed in its history); rows are placed by a binary search over them.
    """
    if len(occurred_at) == 0:
        return CohortAxis(np.zeros(0, np.int64), [])
    first = dt.datetime.fromtimestamp(int(occurred_at.min()) // 1_000_000, tz=MINSK)
    last = dt.datetime.fromtimestamp(int(occurred_at.max()) // 1_000_000, tz=MINSK)
    year, month = first.year, first.month
    labels: list[str] = []
    starts: list[int] = []
    while (year, month) <= (last.year, last.month):
        labels.append(f"{year:04d}-{month:02d}")
        starts.append(epoch_us(dt.datetime(year, month, 1, tzinfo=MINSK)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return CohortAxis(np.asarray(starts, dtype=np.int64), labels)


# Where the fields of a sorted row sit in its two packed words (SortedRows.layout):
# pair = hi >> PAIR_SHIFT; lo = ((time - t_min) / unit << (1 + bits_op) | is_in << bits_op | operator) << bits_asset
# | asset (bits_asset is 0 without assets).
L_PAIR_SHIFT, L_T_MIN, L_UNIT, L_BITS_T, L_BITS_OP, L_N_PLATFORMS, L_BITS_ASSET = range(7)
N_LAYOUT = 7


@dataclass
class SortedRows:
    """The rows of a TransferArrays in sweep order, each as two packed int64 words and its value.

    The sweep decodes the fields from the words as it goes (`_row`) rather
    than writing seven sorted columns out and reading them back. When one
    64-bit key holds every field, hi and lo are that sorted
    key; else hi is the pair and lo the rest.
    """

    order: np.ndarray  # row i here is row order[i] of the input
    hi: np.ndarray
    lo: np.ndarray
    value: np.ndarray
    layout: np.ndarray  # int64, indexed by the L_* constants
    returned: np.ndarray | None = None  # what each sorted row (an OUT) got back, once compute() swept them
    returned_within: np.ndarray | None = None  # sweep_rows(track_curve=True): [i, h] within CURVE_DAYS[h]
    # With sweep_rows(detail=True), the cross-tabs (outflows.variants): excess_grid[o, p] the excess of the
    # returns of operator o to platform p; op_plat[o, p] the metrics of the outbounds of operator o to platform p
    # (whole window); by_asset[c, a], by_residency[c, r], by_kyc[c, k] the metrics by cohort and class.
    excess_grid: np.ndarray | None = None
    op_plat: np.ndarray | None = None  # with detail: op_plat[o, p, M_*] over the whole window
    by_asset: np.ndarray | None = None
    by_residency: np.ndarray | None = None
    by_kyc: np.ndarray | None = None

    def columns(self, axis: CohortAxis) -> dict[str, np.ndarray]:
        """The decoded columns (pair, occurred_at, is_in, operator, platform, cohort, asset): for tests and
        debugging."""
        pair, t, is_in, op, plat = _decode_rows(self.hi, self.lo, self.layout)
        return {
            "asset": self.lo & ((1 << int(self.layout[L_BITS_ASSET])) - 1),
            "pair": pair,
            "occurred_at": t,
            "is_in": is_in,
            "operator": op,
            "platform": plat,
            "cohort": axis.index(t),
        }


def sort_rows(transfers: TransferArrays, n_operators: int, n_platforms: int, *, consume: bool = False) -> SortedRows:
    """Rows ordered by (pair, occurred_at, OUT before IN, operator UNP); pair = investor x platform.

    With transfers.asset, the asset is the last field (outflows.variants credits simultaneous outbounds in
    ticker order). One radix argsort over a packed 64-bit key when the fields fit (timestamps
    are packed in the coarsest unit that loses nothing: whole seconds in
    practice); the key is built in one compiled pass. When all but the asset fit, the same sort
    without it, then each run of equal keys (simultaneous rows, a few at most) ordered by asset in one
    pass; the pair then keeps a word of its own. Else a lexsort.

    consume: the caller holds no other reference to the keyed columns; they are released once packed
    (TransferArrays.release_keyed), before the sort allocates its own.
    """
    n_platforms = max(1, n_platforms)
    n = len(transfers)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return SortedRows(empty, empty, empty, empty, np.zeros(N_LAYOUT, np.int64))
    t_min, unit, t_span = _time_unit(transfers.occurred_at)
    bits_op = max(1, int(n_operators - 1).bit_length())
    bits_t = max(1, int(t_span // unit).bit_length())
    bits_pair = max(1, int(transfers.investor.max() * n_platforms + n_platforms - 1).bit_length())
    asset = transfers.asset if transfers.asset is not None else np.zeros(1, np.int64)
    bits_a = int(asset.max()).bit_length() if transfers.asset is not None else 0
    bits_lo = bits_t + 1 + bits_op + bits_a
    if bits_pair + bits_lo <= KEY_BITS:  # one key holds every field: hi and lo are that word
        packed = [_pack_keys(  # a list: _radix_argsort drops the keys once scattered
            transfers.investor, transfers.platform, transfers.occurred_at, transfers.is_in, transfers.operator,
            asset, n_platforms, t_min, unit, bits_t, bits_op, bits_a,
        )]  # fmt: skip
        if consume:
            transfers.release_keyed()
        order, key, value = _radix_argsort(packed, bits_pair + bits_lo, transfers.value)
        layout = np.asarray([bits_lo, t_min, unit, bits_t, bits_op, n_platforms, bits_a], np.int64)
        return SortedRows(order, key, key, value, layout)
    shift = bits_t + 1 + bits_op
    if bits_a and bits_pair + shift <= KEY_BITS:  # every field but the asset: sorted, then ties by asset
        packed = [_pack_keys(  # a list: _radix_argsort drops the keys once scattered
            transfers.investor, transfers.platform, transfers.occurred_at, transfers.is_in, transfers.operator,
            asset, n_platforms, t_min, unit, bits_t, bits_op, 0,
        )]  # fmt: skip
        if consume:
            transfers.release_keyed()
        order, key, value = _radix_argsort(packed, bits_pair + shift, transfers.value)
        lo = _ties_by_asset(key, order, value, asset, shift, bits_a)  # key becomes the pair
        layout = np.asarray([0, t_min, unit, bits_t, bits_op, n_platforms, bits_a], np.int64)
        return SortedRows(order, key, lo, value, layout)
    if bits_lo > KEY_BITS:
        raise ValueError("the transfers' instants span too long a time at their precision to be sorted")
    pair = transfers.investor.astype(np.int64) * n_platforms + transfers.platform
    asset_key = transfers.asset if transfers.asset is not None else np.zeros(n, np.int64)
    order = np.lexsort((asset_key, transfers.operator, transfers.is_in, transfers.occurred_at, pair))
    lo = (
        (
            ((transfers.occurred_at - t_min) // unit << (1 + bits_op))
            | (transfers.is_in.astype(np.int64) << bits_op)
            | transfers.operator.astype(np.int64)
        )
        << bits_a
    ) | asset_key.astype(np.int64)
    layout = np.asarray([0, t_min, unit, bits_t, bits_op, n_platforms, bits_a], np.int64)
    return SortedRows(order, pair[order], lo[order], transfers.value[order], layout)


@njit(cache=True, nogil=True)
def _ties_by_asset(key, order, value, asset, shift, bits_a):
    """Sorted keys without the asset: each run of equal keys ordered by asset (stable insertion, with order
    and value); returns lo = the key's low `shift` bits, then the asset; key keeps only the pair (>> shift)."""
    n = key.shape[0]
    lo = np.empty(n, np.int64)
    mask = (np.int64(1) << shift) - 1
    i = 0
    while i < n:
        j = i + 1
        while j < n and key[j] == key[i]:
            j += 1
        for x in range(i + 1, j):
            o, v = order[x], value[x]
            a = asset[o]
            y = x - 1
            while y >= i and asset[order[y]] > a:
                order[y + 1] = order[y]
                value[y + 1] = value[y]
                y -= 1
            order[y + 1] = o
            value[y + 1] = v
        for x in range(i, j):
            lo[x] = ((key[x] & mask) << bits_a) | asset[order[x]]
            key[x] = key[x] >> shift
        i = j
    return lo


@njit(cache=True, nogil=True)
def _time_unit(occurred_at):
    """(earliest instant, the coarsest of 1 s / 1 ms / 1 µs dividing every offset from it, span)."""
    t_min = occurred_at.min()
    span = 0
    whole_s = True
    whole_ms = True
    for t in occurred_at:
        d = t - t_min
        span = max(span, d)
        if d % 1_000:
            whole_ms = False
            whole_s = False
        elif d % 1_000_000:
            whole_s = False
    return t_min, 1_000_000 if whole_s else (1_000 if whole_ms else 1), span


@njit(cache=True, nogil=True)
def _pack_keys(investor, platform, occurred_at, is_in, operator, asset, n_platforms, t_min, unit, bits_t, bits_op,
               bits_a):  # fmt: skip
    # key = pair | time since t_min in `unit` | IN | operator | asset, high bits to low.
    key = np.empty(investor.shape[0], np.int64)
    shift_t = 1 + bits_op + bits_a
    for i in range(investor.shape[0]):
        pair = np.int64(investor[i]) * n_platforms + platform[i]
        t = (occurred_at[i] - t_min) // unit
        word = (pair << (bits_t + shift_t)) | (t << shift_t) | (np.int64(is_in[i]) << (bits_op + bits_a))
        key[i] = word | (operator[i] << bits_a) | (asset[i] if bits_a else 0)
    return key


@njit(cache=True, inline="always")
def _asset(lo, i, layout):
    """The asset code of sorted row i (0 without assets)."""
    return lo[i] & ((np.int64(1) << layout[L_BITS_ASSET]) - 1)


@njit(cache=True, inline="always")
def _row(hi, lo, i, layout):
    """(pair, occurred_at, is_in, operator, platform) of sorted row i."""
    bits_op = layout[L_BITS_OP]
    pair = hi[i] >> layout[L_PAIR_SHIFT]
    word = lo[i] >> layout[L_BITS_ASSET]
    t = ((word >> (1 + bits_op)) & ((np.int64(1) << layout[L_BITS_T]) - 1)) * layout[L_UNIT] + layout[L_T_MIN]
    return pair, t, (word >> bits_op) & 1 == 1, word & ((np.int64(1) << bits_op) - 1), pair % layout[L_N_PLATFORMS]


@njit(cache=True, nogil=True)
def _decode_rows(hi, lo, layout):
    n = hi.shape[0]
    pair = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    is_in = np.empty(n, np.bool_)
    op = np.empty(n, np.int64)
    plat = np.empty(n, np.int64)
    for i in range(n):
        pair[i], t[i], is_in[i], op[i], plat[i] = _row(hi, lo, i, layout)
    return pair, t, is_in, op, plat


RADIX_BITS = 11  # 2,048 buckets for the first pass: the scatter's write positions stay in cache
INNER_BITS = 8  # digits of the passes within one bucket (a few thousand keys, in cache)
INSERTION_MAX = 32  # buckets this small are sorted by insertion
# The sort's buckets and the sweep's pairs are independent: both are split between threads
# (the compiled functions release the GIL). Figures: bench/README_outflows.md.
THREADS = max(1, min(4, os.cpu_count() or 1))
JOINT_MAX = 4096  # (asset, residency, KYC) classes up to this many are summed in one block by the sweep
KEY_BITS = 63  # a packed sort key's bits (non-negative int64); tests lower it to take the other paths


def _in_threads(function, arguments: list[tuple]) -> list:
    """function(*a) for each a, on a thread each (one call: in this thread)."""
    if len(arguments) == 1:
        return [function(*arguments[0])]
    with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
        return list(pool.map(lambda a: function(*a), arguments))


def _radix_argsort(key_holder: list[np.ndarray], bits: int, value: np.ndarray) -> tuple:
    """Stable radix argsort of non-negative int64 keys below 2**bits: (order, sorted keys, value[order]).

    key_holder: [the keys], emptied once they are scattered, so that the sorted values take their
    memory (outflows/memory.py: pages already touched) when the caller holds no other reference.

    One pass on the top RADIX_BITS bits scatters the keys (with their indexes)
    into buckets of a few thousand (`_radix_scatter`); the buckets are then
    sorted on their low bits by LSD passes that stay in cache
    (`_radix_sort_buckets`), on one thread per core, each taking a range of
    buckets. Faster than LSD passes over the whole array (each goes to memory)
    and than np.argsort (bench/README_outflows.md).
    """
    keys, order, bounds = _radix_scatter(key_holder.pop(), bits)
    value_sorted = np.empty(keys.shape[0], np.int64)
    cuts = np.searchsorted(bounds, np.linspace(0, keys.shape[0], THREADS + 1)[1:-1])  # rows, not buckets, balanced
    edges = sorted({0, len(bounds) - 1, *(int(c) for c in cuts)})
    _in_threads(
        _radix_sort_buckets,
        [(keys, order, bounds, lo, hi, bits, value, value_sorted) for lo, hi in itertools.pairwise(edges)],
    )
    return order, keys, value_sorted


@njit(cache=True, nogil=True)
def _radix_scatter(key, bits):
    """(keys, order, bounds): the keys and their indexes grouped by their top digit, stably;
    bucket b is keys[bounds[b]:bounds[b + 1]]."""
    n = key.shape[0]
    top_shift = max(0, bits - RADIX_BITS)
    n_top = 1 << RADIX_BITS
    bounds = np.zeros(n_top + 1, np.int64)
    for i in range(n):
        bounds[(key[i] >> top_shift) + 1] += 1
    for b in range(n_top):
        bounds[b + 1] += bounds[b]
    next_slot = bounds[:-1].copy()
    keys = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    for i in range(n):
        k = key[i]
        b = k >> top_shift
        j = next_slot[b]
        next_slot[b] = j + 1
        keys[j] = k
        order[j] = i
    return keys, order, bounds


@njit(cache=True, nogil=True)
def _radix_sort_buckets(keys, order, bounds, first, stop, bits, value, value_sorted):
    """Sort buckets first..stop-1 in place on their low bits (stable), and gather their values."""
    top_shift = max(0, bits - RADIX_BITS)
    biggest = 0
    for b in range(first, stop):
        biggest = max(biggest, bounds[b + 1] - bounds[b])
    spare_keys = np.empty(biggest, np.int64)
    spare_order = np.empty(biggest, np.int64)
    n_inner = 1 << INNER_BITS
    passes = (top_shift + INNER_BITS - 1) // INNER_BITS
    slots = np.empty(n_inner, np.int64)
    for b in range(first, stop):
        lo, hi = bounds[b], bounds[b + 1]
        m = hi - lo
        if m <= INSERTION_MAX:
            for x in range(lo + 1, hi):
                k, o, y = keys[x], order[x], x - 1
                while y >= lo and keys[y] > k:  # strictly greater: stable
                    keys[y + 1], order[y + 1] = keys[y], order[y]
                    y -= 1
                keys[y + 1], order[y + 1] = k, o
        else:
            src_k, src_o, dst_k, dst_o = keys[lo:hi], order[lo:hi], spare_keys[:m], spare_order[:m]
            for d in range(passes):
                shift = d * INNER_BITS
                slots[:] = 0
                for x in range(m):
                    slots[(src_k[x] >> shift) & (n_inner - 1)] += 1
                total = 0
                for c in range(n_inner):
                    count = slots[c]
                    slots[c] = total
                    total += count
                for x in range(m):
                    k = src_k[x]
                    c = (k >> shift) & (n_inner - 1)
                    j = slots[c]
                    slots[c] = j + 1
                    dst_k[j] = k
                    dst_o[j] = src_o[x]
                src_k, dst_k = dst_k, src_k
                src_o, dst_o = dst_o, src_o
            if passes % 2 == 1:  # the last pass wrote into the spare buffers
                keys[lo:hi] = src_k
                order[lo:hi] = src_o
        for x in range(lo, hi):
            value_sorted[x] = value[order[x]]


@njit(cache=True, nogil=True)
def _pair_starts(hi, layout, parts):
    """parts + 1 row indexes from 0 to n, near equal steps, each at the first row of a pair."""
    n = hi.shape[0]
    cuts = np.empty(parts + 1, np.int64)
    cuts[0] = 0
    for k in range(1, parts):
        r = max(cuts[k - 1], n * k // parts)
        while 0 < r < n and hi[r] >> layout[L_PAIR_SHIFT] == hi[r - 1] >> layout[L_PAIR_SHIFT]:
            r += 1
        cuts[k] = r
    cuts[parts] = n
    return cuts


@njit(cache=True, nogil=True)
def investor_starts(hi, layout, parts):
    """parts + 1 row indexes from 0 to n, near equal steps, each at the first row of an investor
    (an investor's pairs are contiguous in the sort): the cuts of the per-investor passes
    (outflows/variants.py, outflows/uncertainty.py)."""
    n = hi.shape[0]
    shift, n_plats = layout[L_PAIR_SHIFT], layout[L_N_PLATFORMS]
    cuts = np.empty(parts + 1, np.int64)
    cuts[0] = 0
    for k in range(1, parts):
        r = max(cuts[k - 1], n * k // parts)
        while 0 < r < n and (hi[r] >> shift) // n_plats == (hi[r - 1] >> shift) // n_plats:
            r += 1
        cuts[k] = r
    cuts[parts] = n
    return cuts


@njit(cache=True, nogil=True)
def _sweep(hi, lo, value, layout, first, stop, returned, month_starts, matured_until, window, curve, n_cohorts,
           n_ops, n_plats, detail, order, residency, kyc, n_assets, n_res, n_kyc, joint, track_curve,
           returned_within):  # fmt: skip
    """The FIFO walk of DESIGN section 5 over rows first..stop-1 (whole pairs) sorted by sort_rows().

    matured_until = as_of - W: an outbound is matured when occurred_at <= it.
    The open outbounds of the current pair wait in a FIFO with what the
    crediting needs (row, instant, cohort, operator, platform); the cohort is
    found once per outbound, from its instant. Writes returned[first:stop] (and with track_curve,
    returned_within[first:stop, h]: what came back within curve[h] of the outbound; the drill-down's);
    returns the range's (by_op, by_plat, excess, excess by the return's operator x platform, ...).
    With detail, also the cross-tabs (outflows.variants): the metrics by operator x platform over the whole
    window, and by cohort and class: asset (from the sorted row), residency and KYC (residency[order[i]],
    kyc[order[i]]: input order; one code: not read) in by_class[c, row, m]: joint, the row of (asset,
    residency, KYC); else three rows, the asset's, n_assets + the residency's, n_assets + n_res + the KYC's.
    Simultaneous outbounds of one pair and operator come in asset order (the sort's last field), so the
    lower ticker's is credited first.
    """
    excess_grid = np.zeros(n_ops * n_plats, np.int64)
    n_curve = curve.shape[0]
    nm = 6 + n_curve
    by_op = np.zeros((n_cohorts, n_ops, nm), np.int64)
    by_plat = np.zeros((n_cohorts, n_plats, nm), np.int64)
    op_plat = np.zeros((n_ops * n_plats if detail else 1, nm), np.int64)
    n_class_rows = (n_assets * n_res * n_kyc if joint else n_assets + n_res + n_kyc) if detail else 1
    by_class = np.zeros((n_cohorts if detail else 1, n_class_rows, nm), np.int64)
    # The FIFO restarts at 0 for each pair, so only its first (longest pair's) slots are ever touched.
    size = max(1, stop - first)
    q_row = np.empty(size, np.int64)
    q_t = np.empty(size, np.int64)
    q_c = np.empty(size, np.int64)
    q_o = np.empty(size, np.int64)
    q_p = np.empty(size, np.int64)
    q_x = np.empty(size if detail else 1, np.int64)  # the outbound's first class row (joint: its only one)
    q_y = np.empty(size if detail else 1, np.int64)
    q_z = np.empty(size if detail else 1, np.int64)
    head = 0
    tail = 0
    excess = 0
    previous_pair = -1
    g = x = y = z = np.int64(0)
    for i in range(first, stop):
        pair, t, is_in, o, p = _row(hi, lo, i, layout)
        if pair != previous_pair:
            head = 0
            tail = 0
            previous_pair = pair
        if not is_in:
            c = np.searchsorted(month_starts, t, side="right") - 1
            q_row[tail], q_t[tail], q_c[tail], q_o[tail], q_p[tail] = i, t, c, o, p
            matured = t <= matured_until
            if matured:
                by_op[c, o, 0] += value[i]
                by_plat[c, p, 0] += value[i]
                by_op[c, o, 4] += 1
                by_plat[c, p, 4] += 1
            else:
                by_op[c, o, 2] += value[i]
                by_plat[c, p, 2] += value[i]
                by_op[c, o, 5] += 1
                by_plat[c, p, 5] += 1
            if detail:
                g = o * n_plats + p
                a = _asset(lo, i, layout)
                r = np.int64(residency[order[i]]) if n_res > 1 else np.int64(0)
                k = np.int64(kyc[order[i]]) if n_kyc > 1 else np.int64(0)
                if joint:
                    x = (a * n_res + r) * n_kyc + k
                else:
                    x, y, z = a, n_assets + r, n_assets + n_res + k
                q_x[tail], q_y[tail], q_z[tail] = x, y, z
                m_value, m_count = (0, 4) if matured else (2, 5)
                op_plat[g, m_value] += value[i]
                op_plat[g, m_count] += 1
                by_class[c, x, m_value] += value[i]
                by_class[c, x, m_count] += 1
                if not joint:
                    by_class[c, y, m_value] += value[i]
                    by_class[c, y, m_count] += 1
                    by_class[c, z, m_value] += value[i]
                    by_class[c, z, m_count] += 1
            tail += 1
            continue
        u = value[i]
        g_in = o * n_plats + p
        # Outbounds whose window closed before this return can receive nothing more.
        while head < tail and q_t[head] + window < t:
            head += 1
        while u > 0 and head < tail:
            j = q_row[head]
            take = min(u, value[j] - returned[j])
            returned[j] += take
            u -= take
            c, o, p, t_out = q_c[head], q_o[head], q_p[head], q_t[head]
            if detail:
                g = o * n_plats + p
                x, y, z = q_x[head], q_y[head], q_z[head]
            if returned[j] == value[j]:
                head += 1
            if take == 0:
                continue
            if track_curve:
                for h in range(n_curve):
                    if t - t_out <= curve[h]:
                        returned_within[j, h] += take
            if t_out <= matured_until:
                by_op[c, o, 1] += take
                by_plat[c, p, 1] += take
                delay = t - t_out
                for h in range(n_curve):
                    if delay <= curve[h]:
                        by_op[c, o, 6 + h] += take
                        by_plat[c, p, 6 + h] += take
                if detail:
                    for h in range(-1, n_curve):  # returned (metric 1), then each horizon it came back within
                        if h < 0 or delay <= curve[h]:
                            m = 1 if h < 0 else 6 + h
                            op_plat[g, m] += take
                            by_class[c, x, m] += take
                            if not joint:
                                by_class[c, y, m] += take
                                by_class[c, z, m] += take
            else:
                by_op[c, o, 3] += take
                by_plat[c, p, 3] += take
                if detail:
                    op_plat[g, 3] += take
                    by_class[c, x, 3] += take
                    if not joint:
                        by_class[c, y, 3] += take
                        by_class[c, z, 3] += take
        excess += u  # what no open outbound of the pair could take: never credited
        excess_grid[g_in] += u
    return by_op, by_plat, excess, excess_grid, op_plat, by_class


def sweep_rows(
    rows: SortedRows,
    axis: CohortAxis,
    *,
    as_of_us: int,
    window_days: int,
    n_operators: int,
    n_platforms: int,
    detail: bool = False,
    classes: ClassColumns | None = None,
    track_curve: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The FIFO walk over sorted rows, in threads: (by_op, by_plat, excess); sets rows.returned (with
    track_curve rows.returned_within[i, h], returned within CURVE_DAYS[h] of the outbound; and, with
    detail, the cross-tabs: rows.op_plat, rows.excess_grid, and with `classes` (else one class of each)
    rows.by_asset, rows.by_residency, rows.by_kyc; outflows.variants)."""
    n = rows.hi.shape[0]
    n_ops, n_plats = max(1, n_operators), max(1, n_platforms)
    window = window_days * US_PER_DAY
    rows.returned = np.zeros(n, np.int64)  # kept with the rows (keep_rows): the bootstrap reads them in this order
    one = np.zeros(1, np.int16)
    if classes is None:
        classes = ClassColumns(residency=one, kyc=one, n_assets=1, n_residency=1, n_kyc=1)
    n_assets, n_res, n_kyc = max(1, classes.n_assets), max(1, classes.n_residency), max(1, classes.n_kyc)
    residency = classes.residency if n_res > 1 else one
    kyc = classes.kyc if n_kyc > 1 else one
    joint = n_assets * n_res * n_kyc <= JOINT_MAX
    cuts = _pair_starts(rows.hi, rows.layout, THREADS)
    curve = np.asarray([d * US_PER_DAY for d in CURVE_DAYS], dtype=np.int64)
    rows.returned_within = np.zeros((n if track_curve else 1, len(CURVE_DAYS)), np.int64)
    parts = _in_threads(
        _sweep,
        [
            (rows.hi, rows.lo, rows.value, rows.layout, first, stop, rows.returned, axis.starts, as_of_us - window,
             window, curve, len(axis.labels), n_ops, n_plats, detail, rows.order, residency, kyc, n_assets, n_res,
             n_kyc, joint, track_curve, rows.returned_within)
            for first, stop in itertools.pairwise(cuts)
            if stop > first
        ],
    )  # fmt: skip
    if detail:
        rows.excess_grid = sum(part[3] for part in parts).reshape(n_ops, n_plats)[:n_operators, :n_platforms]
        rows.op_plat = sum(part[4] for part in parts).reshape(n_ops, n_plats, N_METRICS)[:n_operators, :n_platforms]
        by_class = sum(part[5] for part in parts)
        if joint:  # by (asset, residency, KYC): summed by each
            by_class = by_class.reshape((len(axis.labels), n_assets, n_res, n_kyc, N_METRICS))
            rows.by_asset = by_class.sum(axis=(2, 3))
            rows.by_residency = by_class.sum(axis=(1, 3))
            rows.by_kyc = by_class.sum(axis=(1, 2))
        else:
            rows.by_asset = by_class[:, :n_assets]
            rows.by_residency = by_class[:, n_assets : n_assets + n_res]
            rows.by_kyc = by_class[:, n_assets + n_res :]
    return sum(part[0] for part in parts), sum(part[1] for part in parts), sum(part[2] for part in parts)


def compute(
    transfers: TransferArrays,
    *,
    as_of_us: int,
    window_days: int,
    n_operators: int,
    n_platforms: int,
    cohorts: CohortAxis | None = None,
    per_row: bool = True,
    keep_rows: bool = False,
    detail: bool = False,
    classes: ClassColumns | None = None,
    consume: bool = False,
) -> EngineResult:
    """Run DESIGN section 5 over transfers already limited to occurred_at <= as_of.

    cohorts: the cohort axis from cohort_axis(), to share one axis between
    partitions; computed here when omitted. detail, classes: see sweep_rows. consume: see sort_rows (not
    with per_row, which reads the columns after the sort).
    """
    if consume and per_row:
        raise ValueError("per_row reads the transfers after the sort: they cannot be consumed")
    n = len(transfers)
    axis = cohort_axis(transfers.occurred_at) if cohorts is None else cohorts
    labels = axis.labels
    n_cohorts = len(labels)
    window = window_days * US_PER_DAY
    if n == 0:
        return EngineResult(
            cohorts=labels,
            by_operator=np.zeros((n_cohorts, n_operators, N_METRICS), np.int64),
            by_platform=np.zeros((n_cohorts, n_platforms, N_METRICS), np.int64),
            excess_return=0,
            returned=np.zeros(0, np.int64) if per_row else None,
            matured=np.zeros(0, bool) if per_row else None,
        )
    rows = sort_rows(transfers, n_operators, n_platforms, consume=consume)
    by_op, by_plat, excess = sweep_rows(
        rows, axis, as_of_us=as_of_us, window_days=window_days, n_operators=n_operators, n_platforms=n_platforms,
        detail=detail, classes=classes, track_curve=per_row,
    )  # fmt: skip
    returned = matured = returned_within = None
    if per_row:
        returned = np.empty(n, np.int64)
        returned[rows.order] = rows.returned
        returned_within = np.empty((n, len(CURVE_DAYS)), np.int64)
        returned_within[rows.order] = rows.returned_within
        matured = (transfers.occurred_at <= as_of_us - window) & ~transfers.is_in
    return EngineResult(
        labels, by_op[:, :n_operators], by_plat[:, :n_platforms], int(excess), returned, matured,
        rows if keep_rows else None, returned_within,
    )  # fmt: skip


def partition_of(investor_hash: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of each row from a stable hash of its investor: every pair of an investor lies in one
    partition (so a pair never spans two), and so do the investor-level variant and distinct investors."""
    mixed = investor_hash.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= mixed >> np.uint64(29)
    return (mixed % np.uint64(partitions)).astype(np.int64)


def fnv1a64(data: bytes) -> int:
    """FNV-1a 64 of a string's UTF-8 bytes: the stable investor hash used for partitioning."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def aggregate(
    result: EngineResult,
    *,
    operator_keys: list[str],
    platform_keys: list[str],
    platform_countries: list[str],
) -> dict[tuple[str, str, str], np.ndarray]:
    """Cells (dimension, key, cohort) -> int64 metrics, for every key and cohort that has an outbound.

    overall and country are sums of the platform cells (each outbound has one
    platform, each platform one country); cohort "all" is the sum over cohorts.
    Integer sums only.
    """
    cells: dict[tuple[str, str, str], np.ndarray] = {}
    by_country: dict[str, np.ndarray] = {}
    for p, country in enumerate(platform_countries):
        if country in by_country:
            by_country[country] = by_country[country] + result.by_platform[:, p]
        else:
            by_country[country] = result.by_platform[:, p].copy()
    overall = result.by_platform.sum(axis=1)
    blocks = [("overall", "all", overall)]
    blocks += [("operator", key, result.by_operator[:, o]) for o, key in enumerate(operator_keys)]
    blocks += [("platform", key, result.by_platform[:, p]) for p, key in enumerate(platform_keys)]
    blocks += [("country", key, block) for key, block in by_country.items()]
    for dimension, key, block in blocks:  # block: (n_cohorts, N_METRICS)
        has_outbound = (block[:, M_COUNT] + block[:, M_PENDING_COUNT]) > 0
        if not has_outbound.any():
            continue
        for c in np.flatnonzero(has_outbound):
            cells[(dimension, key, result.cohorts[c])] = block[c]
        cells[(dimension, key, "all")] = block.sum(axis=0)
    return cells


def warm_up() -> None:
    """Load the compiled sweep from numba's disk cache (or compile it, the first time) on two rows.

    A worker calls this once so that the first run does not pay for it.
    """
    zeros = np.zeros(2, np.int64)
    arrays = TransferArrays(
        investor=zeros,
        platform=zeros,
        occurred_at=np.array([0, 1_000_000], np.int64),
        is_in=np.array([False, True]),
        operator=zeros,
        value=np.array([100, 50], np.int64),
    )
    compute(arrays, as_of_us=US_PER_DAY * 400, window_days=1, n_operators=1, n_platforms=1)
