"""A fanned-out run computes the investor-level variant too (issue 17 item 3): partitions split investors.

Every pair of an investor lies in one partition (outflows.readers.pgcopy._partition_filter,
outflows.engine.partition_of), so each partition computes the investor-level variant of its
investors and the merge adds them up: the fanned-out run's stat cells, variants record and
bootstrap interval equal those of one partition, through the real worker too.
"""

import pytest
from django.core.cache import cache

from outflows import services
from outflows.models import OutflowRun, RunStatus
from outflows.services import LOCK_KEY, outflow_run_compute, outflow_run_request
from tests.conftest import wait_for
from tests.outflows.factories import add_transfers, random_transfers
from tests.outflows.test_fan_out import AS_OF, _begin, _computed_apart
from tests.outflows.test_services import figures


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def _assert_same_run(fanned: OutflowRun, one: OutflowRun) -> None:
    assert figures(fanned) == figures(one)
    assert fanned.variants == one.variants
    assert fanned.uncertainty == one.uncertainty
    assert (fanned.input_rows, fanned.input_fingerprint, fanned.excess_return_byn) == (
        one.input_rows,
        one.input_fingerprint,
        one.excess_return_byn,
    )


def _investor_level(run: OutflowRun) -> dict:
    found = run.variants["investor_level"]
    assert found is not None
    # Platform hopping in the data: the investor-level share is not the canonical one.
    assert found["overall"]["share"] != run.variants["canonical"]["overall"]["share"]
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("partitions", [2, 3, 4])
def test_fanned_out_partitions_give_the_variants_of_one_run(partitions):
    add_transfers(*random_transfers(700, seed=40 + partitions))
    plan = _begin(partitions)
    fanned = services.outflow_fan_out_finish(plan, _computed_apart(plan))  # partials through JSON
    one = outflow_run_compute(as_of=AS_OF, partitions=1)
    assert _investor_level(fanned) == _investor_level(one)
    assert fanned.variants["investor_level"]["operator"]
    _assert_same_run(fanned, one)
    # Partitions in one process split by investor as well.
    _assert_same_run(outflow_run_compute(as_of=AS_OF, partitions=partitions), one)


@pytest.mark.celery
def test_a_run_fanned_out_over_the_real_worker_has_the_investor_level_variant(transactional_db, celery_worker_process):
    add_transfers(*random_transfers(900, seed=23))
    run = outflow_run_request(as_of=AS_OF, partitions=3)
    finished = wait_for(lambda: OutflowRun.objects.filter(pk=run.pk, status=RunStatus.FINISHED).first(), timeout=90)
    assert finished.timings["partitions"] == 3  # merged from three partition tasks
    one = outflow_run_compute(as_of=AS_OF, partitions=1)
    assert _investor_level(finished) == _investor_level(one)
    _assert_same_run(finished, one)
