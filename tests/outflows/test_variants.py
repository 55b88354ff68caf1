"""Cross-tabs, excess apart and the two variants (issue 17 items 2, 3) against their plain references."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outflows import engine, variant_summary, variants
from tests.outflows.reference import DAY_US
from tests.outflows.reference_variants import reference_cross_tabs, reference_investor_level, reference_unit_based
from tests.outflows.test_engine import BASE_US, PLATFORM_COUNTRY, UNPS, offsets_us


def run_variants(transfers: list[dict], *, as_of_us: int, window_days: int):
    rows = [r for r in transfers if r["t"] <= as_of_us]
    investors = sorted({r["investor"] for r in rows})
    platforms = sorted(PLATFORM_COUNTRY)
    operators = sorted(set(UNPS))
    assets = sorted({r["asset"] for r in rows})
    residency = sorted({r["residency"] for r in rows} | {variants.NO_CLASS})
    kyc = sorted({r["kyc"] for r in rows} | {variants.NO_CLASS})
    arrays = engine.TransferArrays(
        investor=np.array([investors.index(r["investor"]) for r in rows], dtype=np.int64),
        platform=np.array([platforms.index(r["platform"]) for r in rows], dtype=np.int64),
        occurred_at=np.array([r["t"] for r in rows], dtype=np.int64),
        is_in=np.array([r["direction"] == "IN" for r in rows], dtype=bool),
        operator=np.array([operators.index(r["operator"]) for r in rows], dtype=np.int64),
        value=np.array([r["value"] for r in rows], dtype=np.int64),
    )
    extra = variants.ExtraColumns(
        asset=np.array([assets.index(r["asset"]) for r in rows], dtype=np.int64),
        amount=np.array([r["amount"] for r in rows], dtype=np.int64),
        residency=np.array([residency.index(r["residency"]) for r in rows], dtype=np.int64),
        kyc=np.array([kyc.index(r["kyc"]) for r in rows], dtype=np.int64),
    )
    arrays.asset = extra.asset  # the canonical sort's last tie-break (engine.TransferArrays.asset)
    axis = engine.cohort_axis(arrays.occurred_at)
    sorted_rows = engine.sort_rows(arrays, len(operators), len(platforms))
    parts = variants.compute(
        sorted_rows, extra, cohorts=axis, as_of_us=as_of_us, window_days=window_days,
        n_operators=len(operators), n_platforms=len(platforms), n_assets=len(assets),
        n_residency=len(residency), n_kyc=len(kyc),
    )  # fmt: skip
    cells = variant_summary.cross_cells(
        parts, cohorts=axis.labels, operator_keys=operators, platform_keys=platforms,
        platform_countries=[PLATFORM_COUNTRY[p] for p in platforms], asset_keys=assets,
        residency_keys=residency, kyc_keys=kyc,
    )  # fmt: skip
    return parts, {k: [int(x) for x in v] for k, v in cells.items()}, operators, platforms


def per_operator(sums, operators) -> dict:
    return {unp: [int(a), int(b)] for unp, (a, b) in zip(operators, sums.tolist(), strict=True) if a}


transfer = st.fixed_dictionaries(
    {
        "investor": st.sampled_from(["i1", "i2"]),
        "platform": st.sampled_from(["alpha", "alpha", "beta", "gamma"]),
        "operator": st.sampled_from(UNPS),
        "t": offsets_us.map(lambda o: BASE_US + o),
        "direction": st.sampled_from(["OUT", "IN"]),
        "value": st.one_of(st.sampled_from([0, 1, 100, 10_000]), st.integers(min_value=0, max_value=10**9)),
        "asset": st.sampled_from(["BTC", "USDT", "USDT"]),
        # units of 10**-8; the huge ones make value x units overflow int64 (the 128-bit path)
        "amount": st.one_of(st.sampled_from([1, 3, 10**8]), st.integers(1, 10**9), st.integers(1, 4 * 10**18)),
        "residency": st.sampled_from(["BY", "RU", "-"]),
        "kyc": st.sampled_from(["simplified", "enhanced", "-"]),
    }
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    transfers=st.lists(transfer, min_size=0, max_size=40),
    window_days=st.sampled_from([1, 30, 365]),
    as_of_offset=st.one_of(
        st.sampled_from([0, 365 * DAY_US, 366 * DAY_US, 2000 * DAY_US]), st.integers(0, 1200 * DAY_US)
    ),
    threads=st.sampled_from([1, 2, 3]),
    joint_max=st.sampled_from([engine.JOINT_MAX, 0]),  # 0: the asset, residency and KYC blocks apart
)
def test_variants_equal_their_references_to_the_kopeck(transfers, window_days, as_of_offset, threads, joint_max):
    for i, r in enumerate(transfers):
        r["id"] = i
        r["country"] = PLATFORM_COUNTRY[r["platform"]]
    as_of_us = BASE_US + as_of_offset
    (machine_threads, engine.THREADS), (usual_joint_max, engine.JOINT_MAX) = (engine.THREADS, threads), (
        engine.JOINT_MAX, joint_max)  # fmt: skip
    try:
        parts, cells, operators, platforms = run_variants(transfers, as_of_us=as_of_us, window_days=window_days)
    finally:
        engine.THREADS, engine.JOINT_MAX = machine_threads, usual_joint_max
    kwargs = {"as_of_us": as_of_us, "window_days": window_days}
    cross = reference_cross_tabs(transfers, **kwargs)
    assert cells == cross["cells"]
    excess = {
        "operator": {k: int(v) for k, v in zip(operators, parts.excess_op.tolist(), strict=True) if v},
        "platform": {k: int(v) for k, v in zip(platforms, parts.excess_plat.tolist(), strict=True) if v},
    }
    assert excess == {"operator": cross["excess"]["operator"], "platform": cross["excess"]["platform"]}
    assert per_operator(parts.investor, operators) == reference_investor_level(transfers, **kwargs)
    assert per_operator(parts.unit, operators) == reference_unit_based(transfers, **kwargs)


def test_worked_examples():
    """Platform hopping is not flight (investor-level); a price fall is not non-return (unit-based)."""
    day = DAY_US
    base = {"investor": "i1", "operator": UNPS[0], "residency": "BY", "kyc": "standard"}
    transfers = [
        # 1 BTC out worth 100 to alpha; the same 1 BTC back from alpha 60 days later, now worth 40
        {**base, "platform": "alpha", "t": BASE_US, "direction": "OUT", "value": 10_000, "asset": "BTC",
         "amount": 10**8},
        {**base, "platform": "alpha", "t": BASE_US + 60 * day, "direction": "IN", "value": 4_000, "asset": "BTC",
         "amount": 10**8},
        # 100 USDT out to alpha, home from beta
        {**base, "platform": "alpha", "t": BASE_US, "direction": "OUT", "value": 10_000, "asset": "USDT",
         "amount": 100 * 10**8},
        {**base, "platform": "beta", "t": BASE_US + 10 * day, "direction": "IN", "value": 10_000, "asset": "USDT",
         "amount": 100 * 10**8},
    ]  # fmt: skip
    for i, r in enumerate(transfers):
        r["id"] = i
        r["country"] = PLATFORM_COUNTRY[r["platform"]]
    as_of_us = BASE_US + 400 * day
    parts, cells, operators, platforms = run_variants(transfers, as_of_us=as_of_us, window_days=365)
    assert per_operator(parts.investor, operators) == {UNPS[0]: [20_000, 14_000]}  # both returns count
    assert per_operator(parts.unit, operators) == {UNPS[0]: [20_000, 10_000]}  # the BTC came back whole
    assert cells[("asset", "BTC", "all")][:2] == [10_000, 4_000]  # canonical: 60 % of the BTC "not returned"
    assert dict(zip(platforms, parts.excess_plat.tolist(), strict=True))["beta"] == 10_000
    record = variant_summary.summary(
        parts,
        canonical={("overall", "all", "all"): np.array([20_000, 4_000] + [0] * 8)},
        operator_keys=operators, platform_keys=platforms,
        platform_countries=[PLATFORM_COUNTRY[p] for p in platforms],
    )  # fmt: skip
    assert record["canonical"]["overall"]["share"] == "0.800000"
    assert record["investor_level"]["overall"]["share"] == "0.300000"
    assert record["unit_based"]["overall"]["share"] == "0.500000"
    assert record["unit_based"]["price_effect"] == "0.300000"
    assert record["excess"]["country"] == {"SC": "100.00"}


def test_mul_div_is_exact_beyond_int64():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        c = int(rng.integers(1, 2**62))
        b = int(rng.integers(0, c + 1))
        a = int(rng.integers(0, 2**62))
        assert variants._mul_div(a, b, c) == a * b // c


def test_every_sort_path_gives_the_same_cross_tabs_and_variants(monkeypatch):
    """The asset as the key's last field, as a tie-break after a sort without it, or in a lexsort."""
    rng = np.random.default_rng(5)
    transfers = [
        {"investor": f"i{rng.integers(0, 6)}", "platform": str(rng.choice(sorted(PLATFORM_COUNTRY))),
         "operator": str(rng.choice(UNPS)), "t": BASE_US + int(rng.integers(0, 30)) * 7 * DAY_US,
         "direction": str(rng.choice(["OUT", "IN"])), "value": int(rng.integers(1, 10**6)),
         "asset": str(rng.choice(["BTC", "ETH", "USDT", "TRX", "SOL"])), "amount": int(rng.integers(1, 10**9)),
         "residency": str(rng.choice(["BY", "RU", "-"])), "kyc": str(rng.choice(["simplified", "-"]))}
        for _ in range(400)
    ]  # fmt: skip
    for i, r in enumerate(transfers):
        r["id"] = i
        r["country"] = PLATFORM_COUNTRY[r["platform"]]
    as_of_us = BASE_US + 400 * DAY_US
    expected = run_variants(transfers, as_of_us=as_of_us, window_days=90)
    paths = []
    ties, sort_rows = engine._ties_by_asset, engine.sort_rows

    def recording_sort(arrays, n_operators, n_platforms):
        rows = sort_rows(arrays, n_operators, n_platforms)
        paths.append("one key" if rows.hi is rows.lo else "two words")
        return rows

    def recording_ties(*args):
        paths.append("ties by asset")
        return ties(*args)

    monkeypatch.setattr(engine, "sort_rows", recording_sort)
    monkeypatch.setattr(engine, "_ties_by_asset", recording_ties)
    for key_bits in range(40, 20, -1):
        monkeypatch.setattr(engine, "KEY_BITS", key_bits)
        try:
            parts, cells, _, _ = run_variants(transfers, as_of_us=as_of_us, window_days=90)
        except ValueError:  # the fields after the pair do not fit either
            break
        assert cells == expected[1]
        assert np.array_equal(parts.unit, expected[0].unit)
        assert np.array_equal(parts.investor, expected[0].investor)
    assert {"one key", "two words", "ties by asset"} <= set(paths)
    assert paths.count("two words") > paths.count("ties by asset")  # the lexsort path was taken too
    assert expected[1] == reference_cross_tabs(transfers, as_of_us=as_of_us, window_days=90)["cells"]
