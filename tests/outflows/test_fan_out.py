"""One run fanned out as a Celery chord of partitions: exact merge, one view of the transfers, failures.

PostgreSQL only (the partitions are selected there); the embedded SQLite default
computes partitions in one process (tests/outflows/test_services.py).
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from outflows import services
from outflows.models import CrossBorderTransfer, OutflowRun, RunStatus, TransferChange
from outflows.services import FAN_OUT_ATTEMPTS, LOCK_KEY, OutflowRunBusy, outflow_run_compute, outflow_run_request
from tests.conftest import wait_for
from tests.outflows.factories import BASE, add_transfers, random_transfers, transfer
from tests.outflows.test_services import figures

AS_OF = BASE + dt.timedelta(days=500)


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def _computed_apart(plan: dict) -> list[dict]:
    # Through JSON, as the partials travel through the result backend.
    return [json.loads(json.dumps(services.outflow_partition_compute(plan, p))) for p in range(plan["partitions"])]


def _begin(partitions: int) -> dict:
    return services.outflow_fan_out_begin(as_of=AS_OF, window_days=365, partitions=partitions)


@pytest.mark.django_db
def test_every_write_statement_on_transfers_is_counted_once():
    before = TransferChange.objects.count()
    rows = add_transfers(*random_transfers(30, seed=1))  # one INSERT statement for 30 rows
    assert TransferChange.objects.count() == before + 1
    CrossBorderTransfer.objects.filter(pk=rows[0].pk).update(value_byn=5)
    assert TransferChange.objects.count() == before + 2
    CrossBorderTransfer.objects.filter(pk__in=[r.pk for r in rows[:3]]).delete()
    assert TransferChange.objects.count() == before + 3
    CrossBorderTransfer.objects.filter(pk=-1).update(value_byn=5)  # a statement that changes nothing still counts
    assert TransferChange.objects.count() == before + 4


@pytest.mark.django_db
def test_partitions_split_the_investors_and_read_every_row_once():
    add_transfers(*random_transfers(600, seed=5))
    expected = CrossBorderTransfer.objects.filter(occurred_at__lte=AS_OF).count()
    seen_investors: list[set] = []
    total = 0
    for p in range(3):
        raw = services.read_transfers_copy(as_of=AS_OF, partition=(p, 3))
        total += len(raw.investor)
        seen_investors.append(set(raw.investor_hash[raw.investor].tolist()))
    assert total == expected
    assert all(seen_investors)  # 3 partitions of ~100 investors: none is empty
    # Every investor (so every pair of it) in one partition only.
    assert not (seen_investors[0] & seen_investors[1])
    assert not (seen_investors[0] & seen_investors[2])
    assert not (seen_investors[1] & seen_investors[2])


@pytest.mark.django_db
@pytest.mark.parametrize("partitions", [2, 5])
def test_merged_partitions_give_the_figures_and_fingerprint_of_one_run(partitions):
    add_transfers(*random_transfers(700, seed=partitions))
    plan = _begin(partitions)
    run = services.outflow_fan_out_finish(plan, _computed_apart(plan))
    assert cache.get(LOCK_KEY) is None  # released by the merge
    one = outflow_run_compute(as_of=AS_OF, partitions=1)
    assert run.status == RunStatus.FINISHED
    assert (run.partitions, run.timings["partitions"], run.timings["attempts"]) == (partitions, partitions, 1)
    assert figures(run) == figures(one)
    assert len(figures(one)) > 50
    assert (run.input_rows, run.input_fingerprint, run.excess_return_byn) == (
        one.input_rows,
        one.input_fingerprint,
        one.excess_return_byn,
    )


@pytest.mark.django_db
def test_a_fanned_out_run_holds_the_lock_until_its_merge():
    add_transfers(transfer("OUT", "100", day=0))
    plan = _begin(2)
    with pytest.raises(OutflowRunBusy):
        outflow_run_compute(as_of=AS_OF)
    with pytest.raises(OutflowRunBusy):
        _begin(2)
    services.outflow_fan_out_finish(plan, _computed_apart(plan))
    assert outflow_run_compute(as_of=AS_OF).status == RunStatus.FINISHED


@pytest.mark.django_db
def test_a_partition_that_sees_other_transfers_makes_the_run_plan_again_then_fail():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    plan = _begin(2)
    first = services.outflow_partition_compute(plan, 0)
    add_transfers(transfer("IN", "40", day=60))  # a filing accepted between the two partitions
    partials = [first, services.outflow_partition_compute(plan, 1)]
    assert [p["stale"] for p in partials] == [False, True]
    assert services.outflow_fan_out_finish(plan, partials) is None
    assert OutflowRun.objects.get(pk=plan["run"]).status == RunStatus.RUNNING
    assert cache.get(LOCK_KEY) == plan["token"]  # still held for the next attempt

    again = services.outflow_fan_out_replan(plan)
    assert (again["attempt"], again["version"]) == (2, plan["version"] + 1)
    run = services.outflow_fan_out_finish(again, _computed_apart(again))
    assert run.stats.get(dimension="overall", key="all", cohort="all").returned_value_byn == 100
    assert run.timings["attempts"] == 2

    last = {**again, "attempt": FAN_OUT_ATTEMPTS, "run": OutflowRun.objects.create(as_of=AS_OF).pk}
    cache.set(LOCK_KEY, last["token"])
    assert services.outflow_fan_out_replan(last) is None
    failed = OutflowRun.objects.get(pk=last["run"])
    assert failed.status == RunStatus.FAILED
    assert f"changed during each of {FAN_OUT_ATTEMPTS} attempts" in failed.error
    assert cache.get(LOCK_KEY) is None


@pytest.mark.django_db
def test_a_merge_missing_a_partition_is_refused():
    add_transfers(transfer("OUT", "100", day=0))
    plan = _begin(3)
    partials = _computed_apart(plan)
    with pytest.raises(RuntimeError, match="every partition exactly once"):
        services.outflow_fan_out_finish(plan, partials[:2] + partials[:1])


@pytest.mark.django_db
def test_fan_out_is_for_postgresql_with_the_copy_reader():
    assert services.copy_reader_available() is (connection.vendor == "postgresql")


@pytest.mark.celery
def test_a_run_fans_out_over_the_real_worker_and_merges_exactly(transactional_db, celery_worker_process):
    add_transfers(*random_transfers(800, seed=11))
    run = outflow_run_request(as_of=AS_OF, partitions=3)
    finished = wait_for(lambda: OutflowRun.objects.filter(pk=run.pk, status=RunStatus.FINISHED).first(), timeout=90)
    assert finished.timings["partitions"] == 3  # merged from three partition tasks, not computed in one
    assert cache.get(LOCK_KEY) is None
    one = outflow_run_compute(as_of=AS_OF, partitions=1)
    assert figures(finished) == figures(one)
    assert (finished.input_rows, finished.input_fingerprint, finished.excess_return_byn) == (
        one.input_rows,
        one.input_fingerprint,
        one.excess_return_byn,
    )


@pytest.mark.celery
def test_a_failing_partition_fails_the_run_and_frees_the_lock(transactional_db, celery_worker_process):
    add_transfers(transfer("OUT", "100", day=0, platform_slug="alpha"), transfer("OUT", "5", platform_slug="beta"))
    plan = _begin(2)
    plan["platforms"] = [row for row in plan["platforms"] if row[0] != "beta"]  # a registry the rows do not fit
    services.outflow_fan_out_send(plan)
    failed = wait_for(lambda: OutflowRun.objects.filter(pk=plan["run"], status=RunStatus.FAILED).first(), timeout=90)
    assert "did not read" in failed.error
    assert not failed.stats.exists()
    wait_for(lambda: cache.get(LOCK_KEY) is None, timeout=10)


@pytest.mark.django_db
def test_a_run_left_running_past_the_lock_lifetime_is_failed_as_lost():
    long_ago = timezone.now() - dt.timedelta(seconds=services.LOCK_TIMEOUT_S + 60)
    lost = OutflowRun.objects.create(as_of=AS_OF, status=RunStatus.RUNNING, started_at=long_ago)
    recent = OutflowRun.objects.create(as_of=AS_OF, status=RunStatus.RUNNING, started_at=timezone.now())
    cache.set(LOCK_KEY, "a run computing now")
    assert services.outflow_runs_fail_lost() == 0  # while a lock is held, nothing is judged lost
    cache.delete(LOCK_KEY)
    assert services.outflow_runs_fail_lost() == 1
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED
    assert lost.error.startswith("lost:")
    assert OutflowRun.objects.get(pk=recent.pk).status == RunStatus.RUNNING
