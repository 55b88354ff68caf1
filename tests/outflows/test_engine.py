"""The production engine against the plain-loop reference, on random transfer sets."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outflows import engine
from tests.outflows.reference import DAY_US, reference_compute

# 2025-01-31T20:00Z: 23:00 in Minsk, so hour offsets cross a Minsk month boundary.
BASE_US = engine.epoch_us(dt.datetime(2025, 1, 31, 20, tzinfo=dt.UTC))
PLATFORM_COUNTRY = {"alpha": "CY", "beta": "SC", "gamma": "CY"}  # two platforms share a country
UNPS = ["100000011", "190000005", "791234560"]  # any strings: the engine only needs their order


def run_engine(transfers: list[dict], *, as_of_us: int, window_days: int, per_row: bool = True):
    rows = [r for r in transfers if r["t"] <= as_of_us]
    investors = sorted({r["investor"] for r in rows})
    platforms = sorted(PLATFORM_COUNTRY)
    operators = sorted({r["operator"] for r in transfers} | set(UNPS))
    arrays = engine.TransferArrays(
        investor=np.array([investors.index(r["investor"]) for r in rows], dtype=np.int64),
        platform=np.array([platforms.index(r["platform"]) for r in rows], dtype=np.int64),
        occurred_at=np.array([r["t"] for r in rows], dtype=np.int64),
        is_in=np.array([r["direction"] == "IN" for r in rows], dtype=bool),
        operator=np.array([operators.index(r["operator"]) for r in rows], dtype=np.int64),
        value=np.array([r["value"] for r in rows], dtype=np.int64),
    )
    result = engine.compute(
        arrays,
        as_of_us=as_of_us,
        window_days=window_days,
        n_operators=len(operators),
        n_platforms=len(platforms),
        per_row=per_row,
    )
    cells = engine.aggregate(
        result,
        operator_keys=operators,
        platform_keys=platforms,
        platform_countries=[PLATFORM_COUNTRY[p] for p in platforms],
    )
    returned = {r["id"]: int(v) for r, v in zip(rows, result.returned, strict=True) if r["direction"] == "OUT"}
    return result, {k: [int(x) for x in v] for k, v in cells.items()}, returned


def grouped(rows: list[dict], returned: dict) -> dict:
    """Returned value per class of indistinguishable outbounds (pair, instant, operator).

    Within such a class the split depends on external_id order, which no
    reported figure sees; the class totals are defined exactly.
    """
    out: dict = {}
    for r in rows:
        if r["direction"] == "OUT" and r["id"] in returned:
            key = (r["investor"], r["platform"], r["t"], r["operator"])
            out[key] = out.get(key, 0) + returned[r["id"]]
    return out


# Instants clustered on what matters: the same instant, window edges (W and W + 1 s), cohort edges.
offsets_us = st.one_of(
    st.builds(
        lambda d, s: d * DAY_US + s * 1_000_000,
        st.sampled_from([0, 1, 30, 31, 90, 180, 365, 366]),
        st.sampled_from([0, 0, 0, 1, -1, 3600 * 4]),
    ),
    st.integers(min_value=0, max_value=800 * DAY_US),
)
transfer = st.fixed_dictionaries(
    {
        "investor": st.sampled_from(["i1", "i2"]),
        "platform": st.sampled_from(["alpha", "alpha", "beta", "gamma"]),
        "operator": st.sampled_from(UNPS),
        "t": offsets_us.map(lambda o: BASE_US + o),
        "direction": st.sampled_from(["OUT", "IN"]),
        "value": st.one_of(st.sampled_from([0, 1, 100, 10_000]), st.integers(min_value=0, max_value=10**9)),
    }
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    transfers=st.lists(transfer, min_size=0, max_size=40),
    window_days=st.sampled_from([1, 30, 365]),
    as_of_offset=st.one_of(
        st.sampled_from([0, 365 * DAY_US, 366 * DAY_US, 2000 * DAY_US]), st.integers(0, 1200 * DAY_US)
    ),
    threads=st.sampled_from([1, 2, 3]),  # the sort's buckets and the sweep's pairs split between threads
)
def test_engine_equals_reference_to_the_kopeck(transfers, window_days, as_of_offset, threads):
    for i, r in enumerate(transfers):
        r["id"] = i
        r["country"] = PLATFORM_COUNTRY[r["platform"]]
    as_of_us = BASE_US + as_of_offset
    expected = reference_compute(transfers, as_of_us=as_of_us, window_days=window_days)
    machine_threads, engine.THREADS = engine.THREADS, threads
    try:
        result, cells, returned = run_engine(transfers, as_of_us=as_of_us, window_days=window_days)
    finally:
        engine.THREADS = machine_threads

    assert result.excess_return == expected["excess"]
    assert cells == expected["cells"]
    assert grouped(transfers, returned) == grouped(transfers, expected["returned"])


def test_microsecond_timestamps_use_the_exact_sort():
    """Timestamps with microseconds do not fit the packed key and fall back to a lexsort: same figures."""
    transfers = [
        {
            "investor": "i1",
            "platform": "alpha",
            "operator": UNPS[0],
            "t": BASE_US + 7,
            "direction": "OUT",
            "value": 100,
        },
        {"investor": "i1", "platform": "alpha", "operator": UNPS[1], "t": BASE_US + 7, "direction": "OUT", "value": 50},
        {"investor": "i1", "platform": "alpha", "operator": UNPS[2], "t": BASE_US + 8, "direction": "IN", "value": 120},
    ]
    for i, r in enumerate(transfers):
        r["id"] = i
        r["country"] = PLATFORM_COUNTRY[r["platform"]]
    as_of_us = BASE_US + 400 * DAY_US
    _result, cells, returned = run_engine(transfers, as_of_us=as_of_us, window_days=365)
    # OUT before IN; between simultaneous outbounds the lower UNP is served first.
    assert returned == {0: 100, 1: 20}
    assert cells == reference_compute(transfers, as_of_us=as_of_us, window_days=365)["cells"]


def test_cohort_is_the_minsk_month():
    t = np.array(
        [engine.epoch_us(dt.datetime(2025, 1, 31, 20, 59, 59, tzinfo=dt.UTC)),
         engine.epoch_us(dt.datetime(2025, 1, 31, 21, tzinfo=dt.UTC)),
         engine.epoch_us(dt.datetime(2025, 1, 31, 22, 30, tzinfo=dt.UTC))],
        dtype=np.int64,
    )  # fmt: skip
    axis = engine.cohort_axis(t)
    assert [axis.labels[i] for i in axis.index(t)] == ["2025-01", "2025-02", "2025-02"]


def test_sort_rows_packs_or_falls_back_identically():
    rng = np.random.default_rng(1)
    n = 5000
    investor = rng.integers(0, 25, n)
    platform = rng.integers(0, 2, n)
    t = rng.integers(0, 90 * 86_400, n) * 1_000_000 + 1_700_000_000_000_000  # three months: several cohorts
    is_in = rng.integers(0, 2, n).astype(bool)
    op = rng.integers(0, 4, n)
    value = rng.integers(1, 10**6, n)
    for times, inv in ((t, investor), (t + 1, investor), (t, investor * 2**52)):
        # whole seconds; whole microseconds; too many bits to pack (the lexsort path)
        pair = inv * 2 + platform
        lex = np.lexsort((op, is_in, times, pair))
        arrays = engine.TransferArrays(
            investor=inv, platform=platform, occurred_at=times, is_in=is_in, operator=op, value=value
        )
        axis = engine.cohort_axis(times)
        cohort = axis.index(times)
        rows = engine.sort_rows(arrays, n_operators=4, n_platforms=2)
        assert np.array_equal(rows.order, lex)  # both sorts are stable
        assert np.array_equal(rows.value, value[lex])
        decoded = rows.columns(axis)  # what the sweep reads from the packed words
        for column, name in (
            (pair, "pair"), (times, "occurred_at"), (is_in, "is_in"), (op, "operator"),
            (platform, "platform"), (cohort, "cohort"),
        ):  # fmt: skip
            assert np.array_equal(decoded[name], column[lex]), name


def test_a_consumed_computation_equals_the_plain_one_and_releases_the_keyed_columns():
    rng = np.random.default_rng(5)
    n = 4000
    columns = {
        "investor": rng.integers(0, 30, n), "platform": rng.integers(0, 3, n),
        "occurred_at": rng.integers(0, 400 * 86_400, n) * 1_000_000 + 1_700_000_000_000_000,
        "is_in": rng.integers(0, 2, n).astype(bool), "operator": rng.integers(0, 4, n),
        "value": rng.integers(1, 10**6, n),
    }  # fmt: skip
    kwargs = {"as_of_us": 1_700_000_000_000_000 + 500 * engine.US_PER_DAY, "window_days": 365,
              "n_operators": 4, "n_platforms": 3, "per_row": False}  # fmt: skip
    plain = engine.compute(engine.TransferArrays(**columns), **kwargs)
    arrays = engine.TransferArrays(**{k: v.copy() for k, v in columns.items()})
    consumed = engine.compute(arrays, consume=True, **kwargs)
    assert np.array_equal(consumed.by_operator, plain.by_operator)
    assert np.array_equal(consumed.by_platform, plain.by_platform)
    assert consumed.excess_return == plain.excess_return
    assert arrays.investor is arrays.occurred_at is arrays.operator is None  # their memory is the sort's
    assert arrays.value is not None
    with pytest.raises(ValueError, match="per_row"):
        engine.compute(engine.TransferArrays(**columns), consume=True, **{**kwargs, "per_row": True})


# 11 bits of pair, 22 of time, 1 + 2 of direction and operator, 5 of asset: one key (41 bits); all but the
# asset (36), ties then by asset; a lexsort (the fields after the pair: 30)
@pytest.mark.parametrize("key_bits", [63, 38, 32])
def test_sort_rows_with_assets_orders_simultaneous_rows_by_asset_on_every_path(key_bits, monkeypatch):
    monkeypatch.setattr(engine, "KEY_BITS", key_bits)
    rng = np.random.default_rng(2)
    n = 5000
    investor = np.append(rng.integers(0, 25, n - 1), 1000)
    platform = rng.integers(0, 2, n)
    times = rng.integers(0, 40, n) * 86_400_000_000 + 1_700_000_000_000_000  # many simultaneous rows
    is_in = rng.integers(0, 2, n).astype(bool)
    op = rng.integers(0, 4, n)
    asset = rng.integers(0, 20, n)  # 5 bits
    value = rng.integers(1, 10**6, n)
    pair = investor * 2 + platform
    lex = np.lexsort((asset, op, is_in, times, pair))
    arrays = engine.TransferArrays(
        investor=investor, platform=platform, occurred_at=times, is_in=is_in, operator=op, value=value, asset=asset
    )
    axis = engine.cohort_axis(times)
    rows = engine.sort_rows(arrays, n_operators=4, n_platforms=2)
    assert (rows.hi is rows.lo) == (key_bits == 63)
    assert int(rows.layout[engine.L_BITS_ASSET]) == 5
    assert np.array_equal(rows.order, lex)  # every path is stable
    assert np.array_equal(rows.value, value[lex])
    decoded = rows.columns(axis)
    for column, name in ((pair, "pair"), (times, "occurred_at"), (is_in, "is_in"), (op, "operator"),
                         (platform, "platform"), (asset, "asset")):  # fmt: skip
        assert np.array_equal(decoded[name], column[lex]), name


@pytest.mark.parametrize(
    ("n", "bits", "top_values"),
    [
        (200_000, 59, None),  # buckets of ~100 keys: the in-cache LSD passes
        (50_000, 40, 1),  # every key in one bucket (skewed data)
        (3_000, 9, None),  # fewer bits than the first digit: a counting sort
        (20_000, 30, 4),  # few distinct values: long runs of equal keys stay in input order
    ],
)
def test_radix_argsort_is_a_stable_sort(n, bits, top_values):
    rng = np.random.default_rng(bits)
    if top_values is None:
        key = rng.integers(0, 1 << bits, n, dtype=np.int64)
    else:
        key = (rng.integers(0, top_values, n, dtype=np.int64) << (bits - 3)) | rng.integers(0, 8, n, dtype=np.int64)
    value = rng.integers(0, 10**9, n)
    order, sorted_keys, sorted_values = engine._radix_argsort([key.copy()], bits, value)
    expected = np.argsort(key, kind="stable")
    assert np.array_equal(order, expected)
    assert np.array_equal(sorted_keys, key[expected])
    assert np.array_equal(sorted_values, value[expected])
