"""The stat rows' COPY text (outflows.runs._stat_copy_text) is the Decimal rows' text, written from integers."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from outflows import engine, runs


def decimal_text(run_pk: int, cells: dict) -> str:
    """The former way: a Decimal per amount and share (runs._stat_values), each value through _copy_text."""
    return "".join(f"{run_pk}\t" + "\t".join(map(runs._copy_text, row)) + "\n" for row in runs._stat_values(cells))


kopecks = st.one_of(st.integers(0, 10**6), st.integers(0, 2**62))


@given(st.lists(st.tuples(kopecks, st.integers(0, 100), st.lists(kopecks, min_size=8, max_size=8)), max_size=30))
def test_copy_text_is_the_decimal_rows_text(rows):
    cells = {}
    for k, (outbound, returned_percent, rest) in enumerate(rows):
        m = np.array([outbound, outbound * returned_percent // 100, *rest], np.int64)
        cells[("operator", f"k\t{k}", "all")] = m
    assert runs._stat_copy_text(7, cells) == decimal_text(7, cells)


def test_share_ties_round_half_even_as_decimal():
    # 1/2e6, 3/2e6 ... are exact ties at the sixth place; nothing matured: NULL.
    for outbound, returned in ((2_000_000, 1), (2_000_000, 3), (4_000_000, 2), (8, 1), (3, 1), (3, 3), (0, 0)):
        cells = {("overall", "all", "all"): np.array([outbound, returned] + [0] * (engine.N_METRICS - 2), np.int64)}
        assert runs._stat_copy_text(1, cells) == decimal_text(1, cells)
