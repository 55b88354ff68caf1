"""A fanned-out run's interval and coverage equal those of one partition (issue 17, items 4 and 5)."""

import numpy as np
import pytest
from django.core.cache import cache

from outflows import services, uncertainty
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.outflows.factories import add_transfers, random_transfers
from tests.outflows.test_fan_out import AS_OF, _begin, _computed_apart

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


@pytest.mark.parametrize("partitions", [2, 5])
def test_partitions_merge_to_the_same_interval_and_coverage(partitions):
    add_transfers(*random_transfers(700, seed=partitions))
    plan = _begin(partitions)
    fanned = services.outflow_fan_out_finish(plan, _computed_apart(plan))  # partials through JSON
    one = outflow_run_compute(as_of=AS_OF, partitions=1)

    def intervals(run):
        found = run.uncertainty
        return (
            found["overall"]["low"],
            found["overall"]["high"],
            {unp: (e["low"], e["high"]) for unp, e in found["operators"].items()},
        )

    assert intervals(fanned) == intervals(one)
    assert fanned.uncertainty["overall"]["low"] < fanned.uncertainty["overall"]["high"]
    # Distinct investors across partitions (an investor's pairs lie in several): exact below the sketch's k.
    assert fanned.uncertainty == one.uncertainty
    assert fanned.coverage == one.coverage


def test_sketch_counts_are_exact_below_k_and_at_least_k_above():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, 50).astype(np.uint64)
    investor = rng.integers(0, 50, 400)
    part = rng.integers(0, 3, 400)
    common = {"investor_hash": hashes, "occurred_at": np.zeros(400, np.int64), "is_in": np.zeros(400, bool)}
    operator = rng.integers(0, 2, 400)

    def sketches(k):
        return [
            uncertainty.investor_sketch(
                investor=investor[part == p], operator=operator[part == p], matured_until_us=0, n_operators=2, k=k,
                **{key: v[part == p] if key != "investor_hash" else v for key, v in common.items()},
            )
            for p in range(3)
        ]  # fmt: skip

    exact = [len(set(investor[operator == o])) for o in range(2)] + [len(set(investor))]
    counts, at_least = uncertainty.sketch_counts(sketches(100), 2)
    assert (counts.tolist(), at_least.tolist()) == (exact, [False, False, False])
    counts, at_least = uncertainty.sketch_counts(sketches(10), 2)
    assert (counts.tolist(), at_least.tolist()) == ([10, 10, 10], [True, True, True])
