"""Issue 17 items 2 and 3: cross-tabs, excess apart, and the two variants beside the canonical share.

Why one module of about 460 lines: like outflows/engine.py, it is one compiled pass whose three
FIFO walks share the row layout they decode and the per-investor buffers they fill; split up,
that layout would be spread over modules that must change together.

One compiled pass over the rows the canonical engine has already sorted
(engine.SortedRows: pair = investor x platform, then instant, OUT before IN,
operator UNP), investor by investor (an investor's pairs are contiguous):

* the canonical FIFO again (DESIGN section 5), summed by the dimensions the
  canonical sweep does not keep: operator x platform (operator x country is
  its sum), asset, investor residency and KYC level (from the client register
  valid at the outbound's date, outflows.clients); excess return by the
  operator and platform of the return that brought it;
* unit-based: FIFO on `amount` per (investor, platform, asset), the same
  windows; an outbound's returned value is floor(value x returned units /
  units), so the unreturned part is valued at its outbound value. Outbounds of
  one (pair, asset, instant, operator) form one lot: the canonical order
  cannot tell them apart, so they share their returns pro rata (no figure
  depends on the order of the input);
* investor-level: FIFO per investor over all platforms (the investor's rows
  merged by instant, OUT before IN, operator): a return from any foreign
  platform counts against the investor's earliest open outbound.

Between outbounds the canonical order cannot tell apart (same pair, instant,
operator) the asset cells credit the lower ticker first; no canonical figure
depends on that order. Money is int64 kopecks; amounts are int64 units of
10**-8 (outflows.readers: digits beyond are dropped; larger than about 9.2e10
the amount saturates and is counted in `amount_saturated`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit

from outflows import engine

AMOUNT_SCALE = 10**8
AMOUNT_MAX = np.iinfo(np.int64).max
NO_CLASS = "-"  # residency / KYC key of an outbound whose investor no valid client register lists

INSERTION_MAX = 256  # an investor's rows up to this many are merged by insertion, more by a merge sort

# The variants' per-operator columns: matured outbound value and what the variant counts as returned.
V_OUTBOUND, V_RETURNED = 0, 1


@dataclass
class ExtraColumns:
    """Per-row inputs of the variants, in the order of the engine's TransferArrays.

    asset: dense code, in ticker order (index into the asset keys); amount: units of 10**-8 (None: the
    reader read no amounts, no unit-based variant); residency / kyc: dense codes, 0 = NO_CLASS.
    """

    asset: np.ndarray | None
    amount: np.ndarray | None
    residency: np.ndarray
    kyc: np.ndarray


@dataclass
class VariantParts:
    """Integer sums over a set of whole investors; parts over disjoint investors add up (`merge`).

    op_plat[c, o, p, m], asset[c, a, m], residency[c, r, m], kyc[c, k, m]: engine's metrics (M_*);
    excess_op[o], excess_plat[p]: excess return by the operator / platform of the return;
    unit[o, V_*], investor[o, V_*]: the variants by the outbound's operator (None when not computed).
    """

    op_plat: np.ndarray
    asset: np.ndarray
    residency: np.ndarray
    kyc: np.ndarray
    excess_op: np.ndarray
    excess_plat: np.ndarray
    unit: np.ndarray | None
    investor: np.ndarray | None
    amount_saturated: int = 0

    def merge(self, other: VariantParts) -> VariantParts:
        def add(a, b):
            return None if a is None or b is None else a + b

        return VariantParts(
            self.op_plat + other.op_plat,
            self.asset + other.asset,
            self.residency + other.residency,
            self.kyc + other.kyc,
            self.excess_op + other.excess_op,
            self.excess_plat + other.excess_plat,
            add(self.unit, other.unit),
            add(self.investor, other.investor),
            self.amount_saturated + other.amount_saturated,
        )


@njit(cache=True, inline="always")
def _mul_div(a, b, c):
    """floor(a * b / c) for 0 <= a, 0 <= b <= c, c > 0, exactly (the product may exceed int64)."""
    if b == c:
        return a
    if b == 0:
        return np.int64(0)
    if a <= np.int64(0x7FFFFFFFFFFFFFFF) // b:
        return a * b // c
    # 128-bit product from 32-bit halves, then long division by c (result < a: fits int64).
    ua, ub = np.uint64(a), np.uint64(b)
    mask = np.uint64(0xFFFFFFFF)
    a0, a1, b0, b1 = ua & mask, ua >> np.uint64(32), ub & mask, ub >> np.uint64(32)
    p00, p01, p10, p11 = a0 * b0, a0 * b1, a1 * b0, a1 * b1
    mid = (p00 >> np.uint64(32)) + (p01 & mask) + (p10 & mask)
    lo = (p00 & mask) | ((mid & mask) << np.uint64(32))
    hi = p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))
    uc = np.uint64(c)
    rem = np.uint64(0)
    quotient = np.uint64(0)
    for k in range(127, -1, -1):
        bit = (hi >> np.uint64(k - 64)) & np.uint64(1) if k >= 64 else (lo >> np.uint64(k)) & np.uint64(1)
        top = rem >> np.uint64(63)
        rem = (rem << np.uint64(1)) | bit
        if top or rem >= uc:
            rem -= uc
            if k < 64:
                quotient |= np.uint64(1) << np.uint64(k)
    return np.int64(quotient)


@njit(cache=True, inline="always")
def _credit(block, c, g, take, t, t_out, matured_until, curve):
    """Count `take` returned at t to an outbound (instant t_out) of cell (c, g) of a metric block."""
    if t_out <= matured_until:
        block[c, g, engine.M_RETURNED] += take
        for k in range(curve.shape[0]):
            if t - t_out <= curve[k]:
                block[c, g, engine.M_CURVE + k] += take
    else:
        block[c, g, engine.M_PENDING_RETURNED] += take


@njit(cache=True, inline="always")
def _count(block, c, g, v, matured):
    if matured:
        block[c, g, engine.M_OUTBOUND] += v
        block[c, g, engine.M_COUNT] += 1
    else:
        block[c, g, engine.M_PENDING_OUTBOUND] += v
        block[c, g, engine.M_PENDING_COUNT] += 1


@njit(cache=True, nogil=True)
def _sweep(hi, lo, value, layout, first, stop, asset, amount, residency, kyc, month_starts, matured_until, window,
           curve, n_cohorts, n_ops, n_plats, n_assets, n_res, n_kyc, do_units, do_investor):  # fmt: skip
    """Rows first..stop-1 (whole investors) of the sorted rows; the extra columns in the same order."""
    nm = engine.N_METRICS
    # (operator x platform, cohort, metric): a pair's rows touch one small region (the helpers take any two indexes)
    op_plat = np.zeros((n_ops * n_plats, n_cohorts, nm), np.int64)
    by_asset = np.zeros((n_cohorts, n_assets, nm), np.int64)
    by_res = np.zeros((n_cohorts, n_res, nm), np.int64)
    by_kyc = np.zeros((n_cohorts, n_kyc, nm), np.int64)
    excess_op = np.zeros(n_ops, np.int64)
    excess_plat = np.zeros(n_plats, np.int64)
    unit = np.zeros((n_ops, 2), np.int64)
    inv = np.zeros((n_ops, 2), np.int64)
    size = max(1, stop - first)
    cohort = np.empty(size, np.int64)  # per row of the range (OUT rows only)
    q_row = np.empty(size, np.int64)
    q_rem = np.empty(size, np.int64)
    lot_units = np.empty(size, np.int64)
    lot_value = np.empty(size, np.int64)
    lot_back = np.empty(size, np.int64)
    walk = np.empty(size, np.int64)
    shift = layout[engine.L_PAIR_SHIFT]
    sub_mask = (np.int64(1) << shift) - 1 if shift > 0 else np.int64(-1)
    i = first
    while i < stop:
        investor = (hi[i] >> shift) // n_plats
        b = i + 1
        while b < stop and (hi[b] >> shift) // n_plats == investor:
            b += 1
        for r in range(i, b):
            _, t, is_in, _, _ = engine._row(hi, lo, r, layout)
            if not is_in:
                cohort[r - first] = np.searchsorted(month_starts, t, side="right") - 1
        # 1. The canonical FIFO, pair by pair; tied outbounds (same pair, instant, operator) by asset.
        pa = i
        while pa < b:
            pb = pa + 1
            while pb < b and hi[pb] >> shift == hi[pa] >> shift:
                pb += 1
            m = 0
            for r in range(pa, pb):
                x = m  # insertion among tied OUT rows (equal packed words) by asset code
                m += 1
                tied_out = not engine._row(hi, lo, r, layout)[2]
                while tied_out and x > 0 and lo[walk[x - 1]] == lo[r] and asset[walk[x - 1]] > asset[r]:
                    walk[x] = walk[x - 1]
                    x -= 1
                walk[x] = r
            head = 0
            tail = 0
            for w in range(m):
                r = walk[w]
                _, t, is_in, o, p = engine._row(hi, lo, r, layout)
                if not is_in:
                    c = cohort[r - first]
                    matured = t <= matured_until
                    v = value[r]
                    _count(op_plat, o * n_plats + p, c, v, matured)
                    _count(by_asset, c, asset[r], v, matured)
                    _count(by_res, c, residency[r], v, matured)
                    _count(by_kyc, c, kyc[r], v, matured)
                    q_row[tail] = r
                    q_rem[tail] = v
                    tail += 1
                    continue
                u = value[r]
                while head < tail and engine._row(hi, lo, q_row[head], layout)[1] + window < t:
                    head += 1
                while u > 0 and head < tail:
                    j = q_row[head]
                    take = min(u, q_rem[head])
                    q_rem[head] -= take
                    u -= take
                    if q_rem[head] == 0:
                        head += 1
                    if take == 0:
                        continue
                    _, t_out, _, o_out, p_out = engine._row(hi, lo, j, layout)
                    c = cohort[j - first]
                    _credit(op_plat, o_out * n_plats + p_out, c, take, t, t_out, matured_until, curve)
                    _credit(by_asset, c, asset[j], take, t, t_out, matured_until, curve)
                    _credit(by_res, c, residency[j], take, t, t_out, matured_until, curve)
                    _credit(by_kyc, c, kyc[j], take, t, t_out, matured_until, curve)
                excess_op[o] += u
                excess_plat[p] += u
            # 2. Unit-based: FIFO of lots on amount per asset of the pair (walk order keeps instants in order).
            if do_units:
                for x in range(1, m):  # stable insertion sort of the pair's rows by asset
                    r = walk[x]
                    y = x - 1
                    while y >= 0 and asset[walk[y]] > asset[r]:
                        walk[y + 1] = walk[y]
                        y -= 1
                    walk[y + 1] = r
                head = 0
                tail = 0
                for w in range(m):
                    r = walk[w]
                    _, t, is_in, o, _ = engine._row(hi, lo, r, layout)
                    if w > 0 and asset[walk[w - 1]] != asset[r]:
                        head = tail  # a new asset: a queue of its own
                    if not is_in:
                        same_lot = tail > head and lo[q_row[tail - 1]] == lo[r] and asset[q_row[tail - 1]] == asset[r]
                        if same_lot:  # same asset, instant and operator: one lot
                            lot_units[tail - 1] = min(AMOUNT_MAX - amount[r], lot_units[tail - 1]) + amount[r]
                            lot_value[tail - 1] += value[r]
                            q_rem[tail - 1] = lot_units[tail - 1]
                        else:
                            q_row[tail] = r
                            lot_units[tail] = amount[r]
                            lot_value[tail] = value[r]
                            lot_back[tail] = 0
                            q_rem[tail] = amount[r]
                            tail += 1
                        continue
                    u = amount[r]
                    while head < tail and engine._row(hi, lo, q_row[head], layout)[1] + window < t:
                        head += 1
                    while u > 0 and head < tail:
                        take = min(u, q_rem[head])
                        q_rem[head] -= take
                        lot_back[head] += take
                        u -= take
                        if q_rem[head] == 0:
                            head += 1
                for x in range(tail):
                    _, t_out, _, o_out, _ = engine._row(hi, lo, q_row[x], layout)
                    if t_out <= matured_until:
                        unit[o_out, V_OUTBOUND] += lot_value[x]
                        if lot_units[x] > 0:
                            unit[o_out, V_RETURNED] += _mul_div(lot_value[x], lot_back[x], lot_units[x])
            pa = pb
        # 3. Investor-level: the investor's rows merged by (instant, OUT before IN, operator), then one FIFO.
        if do_investor:
            m = b - i
            if m <= INSERTION_MAX:  # nearly sorted already (most rows on one platform): a stable insertion sort
                for x in range(m):
                    r = i + x
                    key = lo[r] & sub_mask
                    y = x - 1
                    while y >= 0 and lo[walk[y]] & sub_mask > key:
                        walk[y + 1] = walk[y]
                        y -= 1
                    walk[y + 1] = r
            else:
                walk[:m] = i + np.argsort(lo[i:b] & sub_mask, kind="mergesort")
            head = 0
            tail = 0
            for w in range(m):
                r = walk[w]
                _, t, is_in, o, _ = engine._row(hi, lo, r, layout)
                if not is_in:
                    q_row[tail] = r
                    q_rem[tail] = value[r]
                    tail += 1
                    if t <= matured_until:
                        inv[o, V_OUTBOUND] += value[r]
                    continue
                u = value[r]
                while head < tail and engine._row(hi, lo, q_row[head], layout)[1] + window < t:
                    head += 1
                while u > 0 and head < tail:
                    take = min(u, q_rem[head])
                    q_rem[head] -= take
                    u -= take
                    _, t_out, _, o_out, _ = engine._row(hi, lo, q_row[head], layout)
                    if q_rem[head] == 0:
                        head += 1
                    if t_out <= matured_until:
                        inv[o_out, V_RETURNED] += take
        i = b
    return op_plat, by_asset, by_res, by_kyc, excess_op, excess_plat, unit, inv


def compute(
    rows: engine.SortedRows,
    extra: ExtraColumns,
    *,
    cohorts: engine.CohortAxis,
    as_of_us: int,
    window_days: int,
    n_operators: int,
    n_platforms: int,
    n_assets: int,
    n_residency: int,
    n_kyc: int,
    investor_level: bool = True,
) -> VariantParts:
    """The variant sums of the transfers whose sorted rows are `rows` (engine.sort_rows of them).

    investor_level=False when the rows hold only part of some investors' pairs (a fanned-out partition).
    """
    n_cohorts, n_ops, n_plats = len(cohorts.labels), max(1, n_operators), max(1, n_platforms)
    window = window_days * engine.US_PER_DAY
    n = len(rows.order)
    do_units = extra.amount is not None
    asset = extra.asset[rows.order] if extra.asset is not None else np.zeros(n, np.int64)
    amount = extra.amount[rows.order] if do_units else np.zeros(1, np.int64)
    # Every row NO_CLASS (no client register read): zeros, not a gather (calloc'd pages cost nothing until read).
    residency = extra.residency[rows.order] if n_residency > 1 else np.zeros(n, np.int64)
    kyc = extra.kyc[rows.order] if n_kyc > 1 else np.zeros(n, np.int64)
    curve = np.asarray([d * engine.US_PER_DAY for d in engine.CURVE_DAYS], dtype=np.int64)
    n_assets = max(1, n_assets)
    if n == 0:
        parts = [
            _sweep(rows.hi, rows.lo, rows.value, rows.layout, 0, 0, asset, amount, residency, kyc, cohorts.starts,
                   as_of_us - window, window, curve, n_cohorts, n_ops, n_plats, n_assets, max(1, n_residency),
                   max(1, n_kyc), do_units, investor_level)
        ]  # fmt: skip
    else:
        cuts = engine.investor_starts(rows.hi, rows.layout, engine.THREADS)
        parts = engine._in_threads(
            _sweep,
            [
                (rows.hi, rows.lo, rows.value, rows.layout, first, stop, asset, amount, residency, kyc,
                 cohorts.starts, as_of_us - window, window, curve, n_cohorts, n_ops, n_plats, n_assets,
                 max(1, n_residency), max(1, n_kyc), do_units, investor_level)
                for first, stop in itertools.pairwise(cuts)
                if stop > first
            ],
        )  # fmt: skip
    total = [sum(part[k] for part in parts) for k in range(8)]
    saturated = int(np.count_nonzero(extra.amount == AMOUNT_MAX)) if do_units else 0
    return VariantParts(
        op_plat=total[0]
        .transpose(1, 0, 2)
        .reshape(n_cohorts, n_ops, n_plats, engine.N_METRICS)[:, :n_operators, :n_platforms],
        asset=total[1],
        residency=total[2],
        kyc=total[3],
        excess_op=total[4][:n_operators],
        excess_plat=total[5][:n_platforms],
        unit=total[6][:n_operators] if do_units else None,
        investor=total[7][:n_operators] if investor_level else None,
        amount_saturated=saturated,
    )


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, the index of each value among them): np.unique's, for few distinct values."""
    if len(values) == 0:
        return np.zeros(0, values.dtype), np.zeros(0, np.int64)
    distinct = np.sort(_distinct(values))
    return distinct, _index_of(values, distinct)


@njit(cache=True, nogil=True)
def _index_of(values, distinct):
    # Runs of one value are the rule (one asset per investor, mostly): a binary search only when it changes.
    out = np.empty(values.shape[0], np.int64)
    last = values[0]
    at = np.searchsorted(distinct, last)
    for i in range(values.shape[0]):
        v = values[i]
        if v != last:
            last = v
            at = np.searchsorted(distinct, v)
        out[i] = at
    return out


@njit(cache=True, nogil=True)
def _distinct(values):
    """The distinct values of an array holding few of them (a small open-addressing set)."""
    cap = 64
    bits = np.uint64(58)
    table = np.zeros(cap, np.int64)
    used = np.zeros(cap, np.bool_)
    count = 0
    last = values[0]
    first = True
    for v in values:
        if not first and v == last:
            continue
        first = False
        last = v
        slot = np.int64((np.uint64(v) * np.uint64(0x9E3779B97F4A7C15)) >> bits) & (cap - 1)
        while used[slot] and table[slot] != v:
            slot = (slot + 1) & (cap - 1)
        if not used[slot]:
            used[slot] = True
            table[slot] = v
            count += 1
            if 2 * count > cap:  # grow and rehash
                old, old_used = table, used
                cap *= 4
                table = np.zeros(cap, np.int64)
                used = np.zeros(cap, np.bool_)
                bits -= np.uint64(2)
                for k in range(old.shape[0]):
                    if old_used[k]:
                        s = np.int64((np.uint64(old[k]) * np.uint64(0x9E3779B97F4A7C15)) >> bits) & (cap - 1)
                        while used[s]:
                            s = (s + 1) & (cap - 1)
                        used[s] = True
                        table[s] = old[k]
    return table[used]
