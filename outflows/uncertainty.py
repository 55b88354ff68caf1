"""A bootstrap interval of the non-return share, overall and per operator (issue 17, item 5).

Resampling investors: each resample gives every investor a Poisson(1) weight
(the "Poisson bootstrap": the multinomial resampling of n investors, each
drawn independently; the usual choice when the data are split). The weight of
investor i in resample b is a function of (seed, FNV-1a hash of investor_ref,
b) only, so the partitions of a fanned-out run draw the same weights for the
same investor and their sums add up to those of one partition exactly
(integers: weight x kopecks).

Cost: one compiled pass over the rows the engine already sorted (an investor's
rows are contiguous there), reading each array in order; per investor 200
weights (16 bits of a splitmix64 word each, through a 64 K table of the
Poisson(1) inverse CDF), per matured outbound 200 multiply-adds of its value
and of what it got back. The sweep is not rerun: what each outbound got back
comes from the one sweep of the run (engine.SortedRows.returned).
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from outflows import engine

RESAMPLES = 200
SEED = 17
LEVEL = 0.95
METHOD = "poisson-bootstrap-investors"


def _poisson_table() -> np.ndarray:
    """k for each 16-bit uniform u: the smallest k with P(X <= k) > (u + 0.5) / 65536, X ~ Poisson(1)."""
    cdf, k, term, bounds = 0.0, 0, math.exp(-1.0), []
    while cdf < 1.0 - 1e-12 and k < 16:
        cdf += term
        bounds.append(cdf)
        k += 1
        term /= k
    u = (np.arange(65_536, dtype=np.float64) + 0.5) / 65_536
    return np.minimum(np.searchsorted(np.asarray(bounds), u, side="right"), 255).astype(np.uint8)


POISSON16 = _poisson_table()


@njit(cache=True, inline="always")
def _splitmix(state):
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _weights(investor_hash, seed, resamples, table, out):
    """The investor's Poisson(1) weight in each resample: four 16-bit uniforms per splitmix64 word."""
    state = investor_hash ^ np.uint64(seed)
    b = 0
    while b < resamples:
        state, word = _splitmix(state)
        for k in range(4):
            if b < resamples:
                out[b] = table[(word >> np.uint64(16 * k)) & np.uint64(0xFFFF)]
                b += 1


@njit(cache=True, nogil=True)
def _resample_sums(hi, lo, value, returned, layout, first, stop, investor_hash, matured_until, n_ops, resamples,
                   seed, table):  # fmt: skip
    """Sorted rows first..stop-1 (whole investors): (sums[o, 0|1, b] = weighted outbound | returned of the
    matured outbounds, investors[o] distinct; investors[n_ops]: distinct investors of any operator).

    The rows are in the engine's order (pair = investor x platform first), so an investor's rows are
    contiguous: its weights are drawn once, and the pass reads every array in order.
    """
    # float64 sums of integers are exact below 2**53 kopecks (90 billion BYN) and vectorise well.
    sums = np.zeros((n_ops, 2, resamples), np.float64)
    investors = np.zeros(n_ops + 1, np.int64)
    seen = np.full(n_ops, -1, np.int64)
    w = np.empty(resamples, np.float64)
    n_plat = layout[engine.L_N_PLATFORMS]
    current = -1
    for i in range(first, stop):
        pair, t, is_in, o, _p = engine._row(hi, lo, i, layout)
        if is_in or t > matured_until:
            continue
        investor = pair // n_plat
        if investor != current:
            current = investor
            investors[n_ops] += 1
            _weights(investor_hash[investor], seed, resamples, table, w)
        if seen[o] != investor:
            seen[o] = investor
            investors[o] += 1
        v, back = np.float64(value[i]), np.float64(returned[i])
        out_sums, back_sums = sums[o, 0], sums[o, 1]
        for b in range(resamples):
            out_sums[b] += w[b] * v
            back_sums[b] += w[b] * back
    return sums, investors


THREADS = engine.THREADS


def resample_sums(
    rows: engine.SortedRows | None,
    *,
    investor_hash: np.ndarray,
    matured_until_us: int,
    n_operators: int,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted sums of the matured outbounds per operator and resample, and distinct investors per operator.

    rows: the engine's sorted rows with what each got back (engine.compute(keep_rows=True)); None or empty
    when nothing was read. investor_hash: per investor code. matured_until_us: as_of - W.
    Returns (sums[n_operators, 2, resamples] int64: outbound, returned; investors[n_operators + 1], the
    last one the distinct investors of any operator).
    """
    n_ops = max(1, n_operators)
    if rows is None or rows.hi.shape[0] == 0:
        return np.zeros((n_operators, 2, resamples), np.int64), np.zeros(n_operators + 1, np.int64)
    cuts = engine.investor_starts(rows.hi, rows.layout, THREADS)
    arguments = [
        (rows.hi, rows.lo, rows.value, rows.returned, rows.layout, first, stop, investor_hash, matured_until_us,
         n_ops, resamples, seed, POISSON16)
        for first, stop in itertools.pairwise(cuts)
        if stop > first
    ]  # fmt: skip
    if len(arguments) == 1:
        parts = [_resample_sums(*arguments[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(arguments)) as pool:
            parts = list(pool.map(lambda a: _resample_sums(*a), arguments))
    sums = sum(p[0] for p in parts)[:n_operators].astype(np.int64)
    investors = sum(p[1] for p in parts)
    return sums, np.append(investors[:n_operators], investors[n_ops])


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None


def interval(sums: np.ndarray, *, level: float = LEVEL) -> Interval:
    """Percentile interval of the share (outbound - returned) / outbound over the resamples of sums[2, B]."""
    outbound, back = sums[0].astype(np.float64), sums[1].astype(np.float64)
    ok = outbound > 0
    if not ok.any():
        return Interval(None, None)
    shares = (outbound[ok] - back[ok]) / outbound[ok]
    tail = (1.0 - level) / 2
    low, high = np.quantile(shares, [tail, 1.0 - tail])
    return Interval(round(float(low), 6), round(float(high), 6))


def summary(
    sums: np.ndarray,
    investors: np.ndarray,
    operator_keys: list[str],
    *,
    seed: int = SEED,
) -> dict:
    """What a run stores (OutflowRun.uncertainty): the method, and each interval with its distinct investors.

    sums and investors as resample_sums returns them (investors' last entry: any operator); a fanned-out
    run's partitions hold disjoint investors, so their counts add up. (Runs fanned out before investors
    were kept in one partition stored "investors_at_least": true for counts their sketch capped.)
    """

    def entry(block: np.ndarray, o: int) -> dict:
        found = interval(block)
        return {
            "low": None if found.low is None else f"{found.low:.6f}",
            "high": None if found.high is None else f"{found.high:.6f}",
            "investors": int(investors[o]),
        }

    operators = {key: entry(sums[o], o) for o, key in enumerate(operator_keys) if sums[o, 0].any() or investors[o]}
    return {
        "method": METHOD,
        "resamples": int(sums.shape[-1]),
        "seed": seed,
        "level": LEVEL,
        "overall": entry(
            sums.sum(axis=0) if len(operator_keys) else np.zeros((2, sums.shape[-1]), np.int64), len(investors) - 1
        ),
        "operators": operators,
    }
