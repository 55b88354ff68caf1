"""engine.sweep_rows(detail=True): the cross-tabs the canonical sweep sums as it goes add up to its figures,
and the canonical figures do not change with them."""

import numpy as np
import pytest

from outflows import engine

DAY = engine.US_PER_DAY


@pytest.mark.parametrize("window_days", [20, 100, 400])
@pytest.mark.parametrize("joint_max", [engine.JOINT_MAX, 0])
def test_detail_adds_up_to_the_canonical_figures(window_days, joint_max, monkeypatch):
    monkeypatch.setattr(engine, "JOINT_MAX", joint_max)  # 0: the asset, residency and KYC blocks apart
    rng = np.random.default_rng(window_days)
    n = 4_000
    arrays = engine.TransferArrays(
        investor=rng.integers(0, 60, n),
        platform=rng.integers(0, 3, n),
        occurred_at=1_704_067_200 * 1_000_000 + rng.integers(0, 60, n) * 7 * DAY,
        is_in=rng.random(n) < 0.5,
        operator=rng.integers(0, 4, n),
        value=rng.choice([0, 1, 250, 10**6, 3 * 10**9], n),
    )
    as_of = 1_704_067_200 * 1_000_000 + 500 * DAY
    kwargs = {"as_of_us": as_of, "window_days": window_days, "n_operators": 4, "n_platforms": 3, "per_row": False}
    plain = engine.compute(arrays, **kwargs)
    arrays.asset = rng.integers(0, 3, n)
    classes = engine.ClassColumns(
        residency=rng.integers(0, 4, n).astype(np.int16), kyc=rng.integers(0, 2, n).astype(np.int16),
        n_assets=3, n_residency=4, n_kyc=2,
    )  # fmt: skip
    result = engine.compute(arrays, keep_rows=True, detail=True, classes=classes, **kwargs)
    assert np.array_equal(plain.by_operator, result.by_operator)
    assert np.array_equal(plain.by_platform, result.by_platform)
    assert plain.excess_return == result.excess_return
    rows = result.rows
    by_cohort = result.by_operator.sum(axis=1)  # (cohort, metric) over every outbound
    for block in (rows.by_asset, rows.by_residency, rows.by_kyc):
        assert np.array_equal(block.sum(axis=1), by_cohort)
    assert np.array_equal(rows.op_plat.sum(axis=1), result.by_operator.sum(axis=0))
    assert np.array_equal(rows.op_plat.sum(axis=0), result.by_platform.sum(axis=0))
    assert int(rows.excess_grid.sum()) == result.excess_return
    # An asset's block counts exactly its matured outbounds.
    assert int(rows.by_asset[:, 1, engine.M_COUNT].sum()) == int(
        ((arrays.asset == 1) & ~arrays.is_in & (arrays.occurred_at <= as_of - window_days * DAY)).sum()
    )


def test_simultaneous_outbounds_are_credited_in_asset_order():
    """Two outbounds of one pair, instant and operator: the return goes to the lower asset code first."""
    base = 1_704_067_200 * 1_000_000
    arrays = engine.TransferArrays(
        investor=np.zeros(3, np.int64),
        platform=np.zeros(3, np.int64),
        occurred_at=np.array([base, base, base + DAY]),
        is_in=np.array([False, False, True]),
        operator=np.zeros(3, np.int64),
        value=np.array([100, 100, 150]),
        asset=np.array([1, 0, 0]),  # the second row has the lower code
    )
    classes = engine.ClassColumns(
        residency=np.zeros(3, np.int16), kyc=np.zeros(3, np.int16), n_assets=2, n_residency=1, n_kyc=1
    )
    result = engine.compute(
        arrays, as_of_us=base + 400 * DAY, window_days=30, n_operators=1, n_platforms=1, detail=True,
        classes=classes, keep_rows=True,
    )  # fmt: skip
    assert result.returned.tolist() == [50, 100, 0]
    assert result.rows.by_asset[0, :, engine.M_RETURNED].tolist() == [100, 50]
