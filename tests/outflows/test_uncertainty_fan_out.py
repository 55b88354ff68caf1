"""A fanned-out run's interval and coverage equal those of one partition (issue 17, items 4 and 5)."""

import pytest
from django.core.cache import cache

from outflows import services
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
    # An investor whose pairs lie in several partitions is counted in each: an upper bound there.
    assert fanned.uncertainty["overall"]["investors"] >= one.uncertainty["overall"]["investors"]
    assert fanned.coverage == one.coverage
