"""engine.sweep_rows(detail=True): the per-row returns by horizon and the excess grid add up to the sweep's figures."""

import numpy as np
import pytest

from outflows import engine

DAY = engine.US_PER_DAY


@pytest.mark.parametrize("window_days", [20, 100, 400])
def test_detail_adds_up_to_the_canonical_figures(window_days):
    rng = np.random.default_rng(window_days)
    n = 4_000
    arrays = engine.TransferArrays(
        investor=rng.integers(0, 60, n),
        platform=rng.integers(0, 3, n),
        occurred_at=1_704_067_200 * 1_000_000 + rng.integers(0, 60, n) * 7 * DAY,
        is_in=rng.random(n) < 0.5,
        operator=rng.integers(0, 4, n),
        value=rng.choice([0, 1, 250, 10**6, 3 * 10**9], n),  # 3e9 > int32: the int64 curve arrays
    )
    as_of = 1_704_067_200 * 1_000_000 + 500 * DAY
    kwargs = {"as_of_us": as_of, "window_days": window_days, "n_operators": 4, "n_platforms": 3, "per_row": False}
    plain = engine.compute(arrays, **kwargs)
    result = engine.compute(arrays, keep_rows=True, detail=True, **kwargs)
    assert np.array_equal(plain.by_operator, result.by_operator)
    assert plain.excess_return == result.excess_return
    rows = result.rows
    _, t, is_in, _, _ = engine._decode_rows(rows.hi, rows.lo, rows.layout)
    matured = ~is_in & (t <= as_of - window_days * DAY)
    stored = sum(days < window_days for days in engine.CURVE_DAYS)
    assert rows.returned_curve.shape == (stored, n)
    for k in range(len(engine.CURVE_DAYS)):
        per_row = rows.returned_curve[k] if k < stored else rows.returned  # a horizon >= W: all it got back
        assert int(per_row[matured].sum()) == int(result.by_operator[:, :, engine.M_CURVE + k].sum())
    assert int(rows.excess_grid.sum()) == result.excess_return
