"""Issue 17 items 2 and 3: cross-tabs, excess apart, and the two variants beside the canonical share.

The cross-tabs and the excess apart are summed by the canonical sweep itself as it credits each
return (engine.sweep_rows(detail=True, classes=...)): operator x platform over the whole window
(operator x country is its sum), and by cohort the asset, the investor's residency and KYC level
(from the client register valid at the outbound's date, outflows.clients); the excess by the
operator and platform of the return that brought it. Between outbounds the canonical order cannot
tell apart (same pair, instant, operator: one stretch of the FIFO, one window) the asset cells
credit the lower ticker first: the asset is the sort's last field (engine.TransferArrays.asset), so
the FIFO fills them in ticker order; no canonical figure depends on that order.

This module's compiled pass walks the rows the canonical engine has already sorted
(engine.SortedRows: pair = investor x platform, then instant, OUT before IN, operator UNP,
asset), investor by investor (an investor's pairs are contiguous), for the two variants:

* unit-based: FIFO on `amount` per (investor, platform, asset), the same
  windows; an outbound's returned value is floor(value x returned units /
  units), so the unreturned part is valued at its outbound value. Outbounds of
  one (pair, asset, instant, operator) form one lot: the canonical order
  cannot tell them apart, so they share their returns pro rata (no figure
  depends on the order of the input);
* investor-level: FIFO per investor over all platforms (the investor's rows
  merged by instant, OUT before IN, operator, asset): a return from any foreign
  platform counts against the investor's earliest open outbound.

Money is int64 kopecks; amounts are int64 units of 10**-8 (outflows.readers: digits beyond are
dropped; larger than about 9.2e10 the amount saturates and is counted in `amount_saturated`).
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

    op_plat[o, p, m] (the whole window), asset[c, a, m], residency[c, r, m], kyc[c, k, m]: engine's metrics (M_*);
    excess_op[o], excess_plat[p]: excess return by the operator / platform of the return;
    unit[o, V_*], investor[o, V_*]: the variants by the outbound's operator (unit: None without amounts).
    """

    op_plat: np.ndarray
    asset: np.ndarray
    residency: np.ndarray
    kyc: np.ndarray
    excess_op: np.ndarray
    excess_plat: np.ndarray
    unit: np.ndarray | None
    investor: np.ndarray
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


@njit(cache=True, nogil=True)
def _sweep(hi, lo, value, layout, first, stop, order, amount, window, matured_until, n_ops, n_plats,
           do_units):  # fmt: skip
    """Rows first..stop-1 (whole investors) of the sorted rows: the unit-based and investor-level walks. The
    asset of a row is in its sort key (engine._asset); the amounts in the input's order (row i here is row
    order[i] there)."""
    unit = np.zeros((n_ops, 2), np.int64)
    inv = np.zeros((n_ops, 2), np.int64)
    size = max(1, stop - first)
    q_row = np.empty(size, np.int64)
    q_rem = np.empty(size, np.int64)
    lot_units = np.empty(size, np.int64)
    lot_value = np.empty(size, np.int64)
    lot_back = np.empty(size, np.int64)
    walk = np.empty(size, np.int64)
    la = np.empty(size, np.int64)  # the current pair's asset codes and amounts, by row - pa
    lm = np.empty(size, np.int64)
    shift = layout[engine.L_PAIR_SHIFT]
    sub_mask = (np.int64(1) << shift) - 1 if shift > 0 else np.int64(-1)
    i = first
    while i < stop:
        investor = (hi[i] >> shift) // n_plats
        b = i + 1
        while b < stop and (hi[b] >> shift) // n_plats == investor:
            b += 1
        pa = i
        while do_units and pa < b:
            pb = pa + 1
            while pb < b and hi[pb] >> shift == hi[pa] >> shift:
                pb += 1
            m = pb - pa
            for x in range(m):
                walk[x] = pa + x
                la[x] = engine._asset(lo, pa + x, layout)
                lm[x] = amount[order[pa + x]]
            # Unit-based: FIFO of lots on amount per asset of the pair (walk order keeps instants in order).
            for x in range(1, m):  # stable insertion sort of the pair's rows by asset
                r = walk[x]
                y = x - 1
                while y >= 0 and la[walk[y] - pa] > la[r - pa]:
                    walk[y + 1] = walk[y]
                    y -= 1
                walk[y + 1] = r
            head = 0
            tail = 0
            for w in range(m):
                r = walk[w]
                _, t, is_in, o, _ = engine._row(hi, lo, r, layout)
                if w > 0 and la[walk[w - 1] - pa] != la[r - pa]:
                    head = tail  # a new asset: a queue of its own
                if not is_in:
                    if tail > head and lo[q_row[tail - 1]] == lo[r]:  # same instant, operator, asset: one lot
                        lot_units[tail - 1] = min(AMOUNT_MAX - lm[r - pa], lot_units[tail - 1]) + lm[r - pa]
                        lot_value[tail - 1] += value[r]
                        q_rem[tail - 1] = lot_units[tail - 1]
                    else:
                        q_row[tail] = r
                        lot_units[tail] = lm[r - pa]
                        lot_value[tail] = value[r]
                        lot_back[tail] = 0
                        q_rem[tail] = lm[r - pa]
                        tail += 1
                    continue
                u = lm[r - pa]
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
        # Investor-level: the investor's rows merged by (instant, OUT before IN, operator), then one FIFO.
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
    return unit, inv


def class_columns(extra: ExtraColumns, *, n_assets: int, n_residency: int, n_kyc: int) -> engine.ClassColumns:
    """The classes a detailed canonical sweep sums the cross-tabs by (engine.sweep_rows)."""
    return engine.ClassColumns(
        residency=extra.residency, kyc=extra.kyc, n_assets=n_assets if extra.asset is not None else 1,
        n_residency=n_residency, n_kyc=n_kyc,
    )  # fmt: skip


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
) -> VariantParts:
    """The variant sums of the transfers whose sorted rows are `rows`: engine.sort_rows of TransferArrays whose
    asset is extra.asset (the sort's last tie-break), swept here with detail unless engine.compute(keep_rows=True,
    detail=True, classes=class_columns(extra, ...)) swept them.
    """
    n_cohorts, n_ops, n_plats = len(cohorts.labels), max(1, n_operators), max(1, n_platforms)
    window = window_days * engine.US_PER_DAY
    n = len(rows.order)
    do_units = extra.amount is not None
    classes = class_columns(extra, n_assets=n_assets, n_residency=n_residency, n_kyc=n_kyc)
    if n == 0:
        nm = engine.N_METRICS
        zeros = np.zeros((n_operators, 2), np.int64)
        return VariantParts(
            op_plat=np.zeros((n_operators, n_platforms, nm), np.int64),
            asset=np.zeros((n_cohorts, max(1, classes.n_assets), nm), np.int64),
            residency=np.zeros((n_cohorts, max(1, classes.n_residency), nm), np.int64),
            kyc=np.zeros((n_cohorts, max(1, classes.n_kyc), nm), np.int64),
            excess_op=np.zeros(n_operators, np.int64),
            excess_plat=np.zeros(n_platforms, np.int64),
            unit=zeros if do_units else None,
            investor=zeros.copy(),
        )
    if rows.op_plat is None:
        engine.sweep_rows(
            rows, cohorts, as_of_us=as_of_us, window_days=window_days, n_operators=n_operators,
            n_platforms=n_platforms, detail=True, classes=classes,
        )  # fmt: skip
    amount = extra.amount if do_units else np.zeros(1, np.int64)  # input order: gathered pair by pair
    cuts = engine.investor_starts(rows.hi, rows.layout, engine.THREADS)
    parts = engine._in_threads(
        _sweep,
        [
            (rows.hi, rows.lo, rows.value, rows.layout, first, stop, rows.order, amount, window, as_of_us - window,
             n_ops, n_plats, do_units)
            for first, stop in itertools.pairwise(cuts)
            if stop > first
        ],
    )  # fmt: skip
    saturated = int(np.count_nonzero(extra.amount == AMOUNT_MAX)) if do_units else 0
    return VariantParts(
        op_plat=rows.op_plat,
        asset=rows.by_asset,
        residency=rows.by_residency,
        kyc=rows.by_kyc,
        excess_op=rows.excess_grid.sum(axis=1),
        excess_plat=rows.excess_grid.sum(axis=0),
        unit=sum(part[0] for part in parts)[:n_operators] if do_units else None,
        investor=sum(part[1] for part in parts)[:n_operators],
        amount_saturated=saturated,
    )
