"""The bootstrap interval of the share (issue 17, item 5): resampling investors, seeded, exact sums."""

import numpy as np
import pytest

from outflows import uncertainty

RNG = np.random.default_rng(7)


def _data(n=400, investors=60, operators=3):
    investor = RNG.integers(0, investors, n)
    value = RNG.integers(1, 100_000, n)
    return {
        "investor": investor,
        "investor_hash": RNG.integers(0, 2**63, investors).astype(np.uint64),
        "operator": RNG.integers(0, operators, n),
        "value": value,
        "returned": (value * RNG.random(n)).astype(np.int64),
        "matured": RNG.random(n) < 0.7,
        "n_operators": operators,
    }


def _reference(data, *, resamples=uncertainty.RESAMPLES, seed=uncertainty.SEED):
    """Plain loops: every matured outbound's value and return, times its investor's weight in each resample."""
    sums = np.zeros((data["n_operators"], 2, resamples), np.int64)
    distinct = [set() for _ in range(data["n_operators"])]
    w = np.empty(resamples, np.float64)
    for r in np.flatnonzero(data["matured"]):
        i, o = data["investor"][r], data["operator"][r]
        uncertainty._weights(data["investor_hash"][i], seed, resamples, uncertainty.POISSON16, w)
        for b in range(resamples):
            sums[o, 0, b] += int(w[b]) * int(data["value"][r])
            sums[o, 1, b] += int(w[b]) * int(data["returned"][r])
        distinct[o].add(i)
    everyone = {data["investor"][r] for r in np.flatnonzero(data["matured"])}
    return sums, [len(s) for s in distinct] + [len(everyone)]


def test_weights_are_poisson_one():
    table = uncertainty.POISSON16.astype(np.float64)
    assert table.mean() == pytest.approx(1.0, abs=1e-3)
    assert table.var() == pytest.approx(1.0, abs=1e-2)


def test_sums_equal_a_plain_loop_over_the_outbounds():
    data = _data()
    sums, investors = uncertainty.resample_sums(**data)
    expected, counts = _reference(data)
    assert np.array_equal(sums, expected)
    assert investors.tolist() == counts


def test_partitions_add_up_to_the_whole_exactly():
    """The weights depend on the investor, not on the rows read with it: a fanned-out run sums its parts."""
    data = _data(n=600)
    whole, _ = uncertainty.resample_sums(**data)
    part = RNG.integers(0, 3, len(data["value"]))
    total = sum(uncertainty.resample_sums(**{**data, "matured": data["matured"] & (part == p)})[0] for p in range(3))
    assert np.array_equal(total, whole)


def test_seeded_and_reproducible():
    data = _data()
    first, _ = uncertainty.resample_sums(**data)
    again, _ = uncertainty.resample_sums(**data)
    other, _ = uncertainty.resample_sums(**data, seed=uncertainty.SEED + 1)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_interval_brackets_the_share_and_narrows_with_more_investors():
    def width(investors):
        data = _data(n=investors * 5, investors=investors, operators=1)
        data["matured"][:] = True
        sums, counts = uncertainty.resample_sums(**data)
        found = uncertainty.interval(sums[0])
        share = 1 - data["returned"].sum() / data["value"].sum()
        assert found.low <= share <= found.high
        return found.high - found.low

    assert width(2_000) < width(20) / 3


def test_one_investor_has_no_spread_and_summary_names_the_method():
    data = _data(n=10, investors=1, operators=2)
    data["matured"][:] = True
    sums, investors = uncertainty.resample_sums(**data)
    found = uncertainty.summary(sums, investors, ["A", "B"])
    assert found["method"] == uncertainty.METHOD
    assert found["resamples"] == 200 and found["seed"] == uncertainty.SEED
    assert found["overall"]["low"] == found["overall"]["high"]
    assert found["overall"]["investors"] == 1
    assert {k: v["investors"] for k, v in found["operators"].items()} == {"A": 1, "B": 1}


def test_nothing_matured():
    data = _data()
    data["matured"][:] = False
    sums, investors = uncertainty.resample_sums(**data)
    found = uncertainty.summary(sums, investors, ["A", "B", "C"])
    assert found["overall"] == {"low": None, "high": None, "investors": 0}
    assert found["operators"] == {}
