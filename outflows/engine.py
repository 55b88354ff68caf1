"""The non-return computation of DESIGN section 5, on integer arrays.

No Django here: the service reads transfers into arrays, this module computes,
the service stores. Money is integer kopecks (int64) from end to end, so every
sum is exact; there is no float anywhere on the money path.

Why numba: the definition is a FIFO queue per (investor_ref, platform) with
windows that close. As one compiled sweep over rows sorted by a single packed
64-bit key it is a few readable lines, linear, exact in int64, and costs about
0.1 s per million transfers, a small part of a run whose time goes to reading
from PostgreSQL (figures in bench/README_outflows.md).

Orders that decide the figures (DESIGN section 5): pair, occurred_at, OUT
before IN, reporting operator UNP. Rows equal on all four are indistinguishable
for every reported figure (same pair, instant, direction, operator, hence the
same cohort, platform, country and maturity), so external_id need not be part
of the sort: whichever of them comes first, every group's sums are the same.
"""

from __future__ import annotations

import datetime as dt
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

    def __len__(self) -> int:
        return len(self.occurred_at)

    def take(self, index: np.ndarray) -> TransferArrays:
        return TransferArrays(
            investor=self.investor[index],
            platform=self.platform[index],
            occurred_at=self.occurred_at[index],
            is_in=self.is_in[index],
            operator=self.operator[index],
            value=self.value[index],
        )


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


@dataclass
class SortedRows:
    """The rows of a TransferArrays in sweep order, with their pair and cohort."""

    order: np.ndarray  # row i here is row order[i] of the input
    pair: np.ndarray
    occurred_at: np.ndarray
    is_in: np.ndarray
    operator: np.ndarray
    platform: np.ndarray
    value: np.ndarray
    cohort: np.ndarray


def sort_rows(transfers: TransferArrays, axis: CohortAxis, n_operators: int, n_platforms: int) -> SortedRows:
    """Rows ordered by (pair, occurred_at, OUT before IN, operator UNP); pair = investor x platform.

    One radix argsort over a packed 64-bit key when the fields fit (timestamps
    are packed in the coarsest unit that loses nothing: whole seconds in
    practice); the key is built in one compiled pass and the sorted columns are
    read back from the sorted keys in another (numpy's temporaries and six
    gathers at random were most of a 10M-row run). Else a lexsort.
    """
    n_platforms = max(1, n_platforms)
    n = len(transfers)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return SortedRows(empty, empty, empty, np.zeros(0, bool), empty, empty, empty, empty)
    t_min, unit, t_span = _time_unit(transfers.occurred_at)
    bits_op = max(1, int(n_operators - 1).bit_length())
    bits_t = max(1, int(t_span // unit).bit_length())
    bits_pair = max(1, int(transfers.investor.max() * n_platforms + n_platforms - 1).bit_length())
    if bits_pair + bits_t + 1 + bits_op <= 63:
        key = _pack_keys(
            transfers.investor, transfers.platform, transfers.occurred_at, transfers.is_in, transfers.operator,
            n_platforms, t_min, unit, bits_t, bits_op,
        )  # fmt: skip
        order, key = _radix_argsort(key, bits_pair + bits_t + 1 + bits_op)
        return SortedRows(
            order,
            *_unpack(key, order, transfers.value, axis.starts, n_platforms, t_min, unit, bits_t, bits_op),
        )
    pair = transfers.investor.astype(np.int64) * n_platforms + transfers.platform
    order = np.lexsort((transfers.operator, transfers.is_in, transfers.occurred_at, pair))
    return SortedRows(
        order,
        pair[order],
        transfers.occurred_at[order],
        transfers.is_in[order],
        transfers.operator[order].astype(np.int64, copy=False),
        transfers.platform[order].astype(np.int64, copy=False),
        transfers.value[order],
        axis.index(transfers.occurred_at[order]),
    )


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
def _pack_keys(investor, platform, occurred_at, is_in, operator, n_platforms, t_min, unit, bits_t, bits_op):
    # key = pair | time since t_min in `unit` | IN | operator, high bits to low.
    key = np.empty(investor.shape[0], np.int64)
    for i in range(investor.shape[0]):
        pair = np.int64(investor[i]) * n_platforms + platform[i]
        t = (occurred_at[i] - t_min) // unit
        key[i] = (pair << (bits_t + 1 + bits_op)) | (t << (1 + bits_op)) | (np.int64(is_in[i]) << bits_op) | operator[i]
    return key


@njit(cache=True, nogil=True)
def _unpack(key, order, value, month_starts, n_platforms, t_min, unit, bits_t, bits_op):
    n = key.shape[0]
    pair = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    is_in = np.empty(n, np.bool_)
    op = np.empty(n, np.int64)
    plat = np.empty(n, np.int64)
    value_sorted = np.empty(n, np.int64)
    cohort_sorted = np.empty(n, np.int64)
    t_mask = (np.int64(1) << bits_t) - 1
    op_mask = (np.int64(1) << bits_op) - 1
    for i in range(n):
        k = key[i]
        pair[i] = k >> (bits_t + 1 + bits_op)
        t[i] = ((k >> (1 + bits_op)) & t_mask) * unit + t_min
        is_in[i] = (k >> bits_op) & 1
        op[i] = k & op_mask
        plat[i] = pair[i] % n_platforms
        value_sorted[i] = value[order[i]]
        # The cohort from the time itself (a search over a few dozen month starts, in cache),
        # not a gather from a per-row array at random.
        cohort_sorted[i] = np.searchsorted(month_starts, t[i], side="right") - 1
    return pair, t, is_in, op, plat, value_sorted, cohort_sorted


RADIX_BITS = 11  # 2,048 buckets: the scatter's write positions stay in cache


@njit(cache=True, nogil=True)
def _radix_argsort(key, bits):
    """Stable LSD radix argsort of non-negative int64 keys below 2**bits: (order, sorted keys).

    Measured at 10M keys: several times faster than np.argsort, which was most
    of the compute phase. Keys travel with their indexes so that each pass
    reads sequentially.
    """
    n = key.shape[0]
    n_buckets = 1 << RADIX_BITS
    mask = n_buckets - 1
    passes = max(1, (bits + RADIX_BITS - 1) // RADIX_BITS)
    counts = np.zeros((passes, n_buckets), np.int64)
    for i in range(n):
        k = key[i]
        for d in range(passes):
            counts[d, (k >> (d * RADIX_BITS)) & mask] += 1
    keys = key.copy()
    order = np.arange(n)
    keys_out = np.empty(n, np.int64)
    order_out = np.empty(n, np.int64)
    for d in range(passes):
        shift = d * RADIX_BITS
        start = np.empty(n_buckets, np.int64)
        total = 0
        for b in range(n_buckets):
            start[b] = total
            total += counts[d, b]
        for i in range(n):
            k = keys[i]
            b = (k >> shift) & mask
            j = start[b]
            start[b] = j + 1
            keys_out[j] = k
            order_out[j] = order[i]
        keys, keys_out = keys_out, keys
        order, order_out = order_out, order
    return order, keys


@njit(cache=True, nogil=True)
def _sweep(pair, t, is_in, value, op, plat, cohort, matured_until, window, curve, n_cohorts, n_ops, n_plats):
    """The FIFO walk of DESIGN section 5 over rows sorted by sort_rows().

    matured_until = as_of - W: an outbound is matured when occurred_at <= it.
    """
    n = t.shape[0]
    n_curve = curve.shape[0]
    returned = np.zeros(n, np.int64)
    by_op = np.zeros((n_cohorts, n_ops, 6 + n_curve), np.int64)
    by_plat = np.zeros((n_cohorts, n_plats, 6 + n_curve), np.int64)
    queue = np.empty(n, np.int64)  # positions of this pair's open outbounds, FIFO
    head = 0
    tail = 0
    excess = 0
    for i in range(n):
        if i == 0 or pair[i] != pair[i - 1]:
            head = 0
            tail = 0
        if not is_in[i]:
            queue[tail] = i
            tail += 1
            c, o, p = cohort[i], op[i], plat[i]
            if t[i] <= matured_until:
                by_op[c, o, 0] += value[i]
                by_plat[c, p, 0] += value[i]
                by_op[c, o, 4] += 1
                by_plat[c, p, 4] += 1
            else:
                by_op[c, o, 2] += value[i]
                by_plat[c, p, 2] += value[i]
                by_op[c, o, 5] += 1
                by_plat[c, p, 5] += 1
            continue
        s = t[i]
        u = value[i]
        # Outbounds whose window closed before this return can receive nothing more.
        while head < tail and t[queue[head]] + window < s:
            head += 1
        while u > 0 and head < tail:
            j = queue[head]
            take = min(u, value[j] - returned[j])
            returned[j] += take
            u -= take
            if returned[j] == value[j]:
                head += 1
            if take == 0:
                continue
            c, o, p = cohort[j], op[j], plat[j]
            if t[j] <= matured_until:
                by_op[c, o, 1] += take
                by_plat[c, p, 1] += take
                delay = s - t[j]
                for k in range(n_curve):
                    if delay <= curve[k]:
                        by_op[c, o, 6 + k] += take
                        by_plat[c, p, 6 + k] += take
            else:
                by_op[c, o, 3] += take
                by_plat[c, p, 3] += take
        excess += u  # what no open outbound of the pair could take: never credited
    return returned, by_op, by_plat, excess


def compute(
    transfers: TransferArrays,
    *,
    as_of_us: int,
    window_days: int,
    n_operators: int,
    n_platforms: int,
    cohorts: CohortAxis | None = None,
    per_row: bool = True,
) -> EngineResult:
    """Run DESIGN section 5 over transfers already limited to occurred_at <= as_of.

    cohorts: the cohort axis from cohort_axis(), to share one axis between
    partitions; computed here when omitted.
    """
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
    rows = sort_rows(transfers, axis, n_operators, n_platforms)
    returned_sorted, by_op, by_plat, excess = _sweep(
        rows.pair,
        rows.occurred_at,
        rows.is_in,
        rows.value,
        rows.operator,
        rows.platform,
        rows.cohort,
        as_of_us - window,
        window,
        np.asarray([d * US_PER_DAY for d in CURVE_DAYS], dtype=np.int64),
        n_cohorts,
        max(1, n_operators),
        max(1, n_platforms),
    )
    returned = matured = None
    if per_row:
        returned = np.empty(n, np.int64)
        returned[rows.order] = returned_sorted
        matured = (transfers.occurred_at <= as_of_us - window) & ~transfers.is_in
    return EngineResult(labels, by_op[:, :n_operators], by_plat[:, :n_platforms], int(excess), returned, matured)


def partition_of(investor_hash: np.ndarray, platform: np.ndarray, partitions: int) -> np.ndarray:
    """Partition of each row from a stable hash of its pair: a pair never spans two partitions."""
    mixed = investor_hash.astype(np.uint64) ^ (platform.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
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
