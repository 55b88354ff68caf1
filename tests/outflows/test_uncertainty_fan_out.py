"""A fanned-out run's interval and coverage equal those of one partition (issue 17, items 4 and 5)."""

import json

import pytest
from django.core.cache import cache

from outflows import services
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.outflows.factories import UNP_A, add_transfers, random_transfers, transfer
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
    # Distinct investors: each investor lies in one partition, so the partitions' counts add up.
    assert fanned.uncertainty == one.uncertainty
    assert fanned.coverage == one.coverage


def test_distinct_investors_of_a_fanned_out_run_are_exact_above_a_thousand():
    """1,500 investors of one operator over three partitions: counted exactly (a sketch of 1,000 capped them)."""
    rows = [transfer("OUT", "10", day=i % 50, investor=f"many-{i}", external_id=f"m-{i}") for i in range(1500)]
    back = range(0, 1500, 3)
    rows += [transfer("IN", "4", day=60 + i % 50, investor=f"many-{i}", external_id=f"b-{i}") for i in back]
    add_transfers(*rows)
    plan = _begin(3)
    fanned = services.outflow_fan_out_finish(plan, _computed_apart(plan))
    assert fanned.uncertainty["overall"]["investors"] == 1500
    assert fanned.uncertainty["operators"][UNP_A]["investors"] == 1500
    assert "investors_at_least" not in json.dumps(fanned.uncertainty)
    assert fanned.uncertainty == outflow_run_compute(as_of=AS_OF, partitions=1).uncertainty
