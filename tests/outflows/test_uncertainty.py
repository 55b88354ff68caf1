"""The bootstrap interval of the share (issue 17, item 5): resampling investors, seeded, exact sums."""

import numpy as np
import pytest

from outflows import engine, uncertainty

RNG = np.random.default_rng(7)
DAY = 86_400 * 1_000_000
AS_OF = 400 * DAY
WINDOW = 100


def _data(n=400, investors=60, operators=3, platforms=4):
    """Random transfers through the engine: its sorted rows (with what each got back) and per-row figures."""
    arrays = engine.TransferArrays(
        investor=RNG.integers(0, investors, n),
        platform=RNG.integers(0, platforms, n),
        occurred_at=RNG.integers(0, AS_OF, n),
        is_in=RNG.random(n) < 0.4,
        operator=RNG.integers(0, operators, n),
        value=RNG.integers(1, 100_000, n),
    )
    result = engine.compute(
        arrays, as_of_us=AS_OF, window_days=WINDOW, n_operators=operators, n_platforms=platforms, keep_rows=True
    )
    return {
        "arrays": arrays,
        "result": result,
        "investor_hash": RNG.integers(0, 2**63, investors).astype(np.uint64),
        "n_operators": operators,
    }


def _sums(data, **kwargs):
    return uncertainty.resample_sums(
        data["result"].rows,
        investor_hash=data["investor_hash"],
        matured_until_us=AS_OF - WINDOW * DAY,
        n_operators=data["n_operators"],
        **kwargs,
    )


def _reference(data, *, resamples=uncertainty.RESAMPLES, seed=uncertainty.SEED):
    """Plain loops: every matured outbound's value and return, times its investor's weight in each resample."""
    arrays, result = data["arrays"], data["result"]
    sums = np.zeros((data["n_operators"], 2, resamples), np.int64)
    distinct = [set() for _ in range(data["n_operators"])]
    w = np.empty(resamples, np.float64)
    for r in np.flatnonzero(result.matured):
        i, o = arrays.investor[r], arrays.operator[r]
        uncertainty._weights(data["investor_hash"][i], seed, resamples, uncertainty.POISSON16, w)
        for b in range(resamples):
            sums[o, 0, b] += int(w[b]) * int(arrays.value[r])
            sums[o, 1, b] += int(w[b]) * int(result.returned[r])
        distinct[o].add(i)
    everyone = {arrays.investor[r] for r in np.flatnonzero(result.matured)}
    return sums, [len(s) for s in distinct] + [len(everyone)]


def test_weights_are_poisson_one():
    table = uncertainty.POISSON16.astype(np.float64)
    assert table.mean() == pytest.approx(1.0, abs=1e-3)
    assert table.var() == pytest.approx(1.0, abs=1e-2)


def test_sums_equal_a_plain_loop_over_the_outbounds():
    data = _data()
    sums, investors = _sums(data)
    expected, counts = _reference(data)
    assert np.array_equal(sums, expected)
    assert investors.tolist() == counts


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_split_between_investors(monkeypatch, threads):
    monkeypatch.setattr(uncertainty, "THREADS", threads)
    data = _data(n=900, investors=50)
    sums, investors = _sums(data)
    expected, counts = _reference(data)
    assert np.array_equal(sums, expected)
    assert investors.tolist() == counts


def test_partitions_add_up_to_the_whole_exactly():
    """The weights depend on the investor, not on the rows read with it: a fanned-out run sums its parts; each
    investor lies in one partition with all its pairs, so the distinct investors add up too."""
    data = _data(n=600)
    whole, whole_investors = _sums(data)
    arrays = data["arrays"]
    part = engine.partition_of(data["investor_hash"][arrays.investor], 3)
    total, investors = 0, 0
    for p in range(3):
        taken = arrays.take(np.flatnonzero(part == p))
        result = engine.compute(taken, as_of_us=AS_OF, window_days=WINDOW, n_operators=3, n_platforms=4, keep_rows=True)
        sums, counts = _sums({**data, "result": result})
        total, investors = total + sums, investors + counts
    assert np.array_equal(total, whole)
    assert np.array_equal(investors, whole_investors)


def test_seeded_and_reproducible():
    data = _data()
    first, _ = _sums(data)
    again, _ = _sums(data)
    other, _ = _sums(data, seed=uncertainty.SEED + 1)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_interval_brackets_the_share_and_narrows_with_more_investors():
    def width(investors):
        data = _data(n=investors * 8, investors=investors, operators=1)
        sums, _counts = _sums(data)
        found = uncertainty.interval(sums[0])
        matured = data["result"].matured
        share = 1 - data["result"].returned[matured].sum() / data["arrays"].value[matured].sum()
        assert found.low <= share <= found.high
        return found.high - found.low

    assert width(3_000) < width(30) / 3


def test_one_investor_has_no_spread_and_summary_names_the_method():
    data = _data(n=30, investors=1, operators=2)
    sums, investors = _sums(data)
    found = uncertainty.summary(sums, investors, ["A", "B"])
    assert found["method"] == uncertainty.METHOD
    assert (found["resamples"], found["seed"]) == (200, uncertainty.SEED)
    assert found["overall"]["low"] == found["overall"]["high"]
    assert found["overall"]["investors"] == 1
    assert {k: v["investors"] for k, v in found["operators"].items()} == {"A": 1, "B": 1}


def test_nothing_read():
    sums, investors = uncertainty.resample_sums(
        None, investor_hash=np.zeros(0, np.uint64), matured_until_us=0, n_operators=3
    )
    found = uncertainty.summary(sums, investors, ["A", "B", "C"])
    assert found["overall"] == {"low": None, "high": None, "investors": 0}
    assert found["operators"] == {}
