"""The Celery side: the task on a real worker, the debounced recompute, the beat entry."""

import datetime as dt
import json
import time
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from outflows import tasks
from outflows.models import CrossBorderTransfer, OutflowRun, RunStatus
from outflows.services import LOCK_KEY, outflow_run_request
from tests.conftest import wait_for
from tests.outflows.factories import BASE, add_transfers, random_transfers, transfer


@pytest.fixture(autouse=True)
def _clean_cache_keys():
    cache.delete_many([LOCK_KEY, tasks.RECOMPUTE_DEBOUNCE_KEY])
    yield
    cache.delete_many([LOCK_KEY, tasks.RECOMPUTE_DEBOUNCE_KEY])


def _rows(run: OutflowRun) -> list:
    return sorted(
        run.stats.values_list(
            "dimension", "key", "cohort", "outbound_value_byn", "returned_value_byn", "unreturned_value_byn",
            "non_return_share", "pending_outbound_value_byn", "pending_returned_value_byn", "outbound_count",
            "returned_30d_byn", "returned_90d_byn", "returned_180d_byn", "returned_365d_byn",
        )
    )  # fmt: skip


@pytest.mark.celery
def test_task_on_a_real_worker_gives_the_command_figures(transactional_db, celery_worker_process):
    add_transfers(*random_transfers(500, seed=3))
    as_of = BASE + dt.timedelta(days=450)
    tasks.compute_outflows_task.delay(as_of=as_of.isoformat())
    run = wait_for(lambda: OutflowRun.objects.filter(status=RunStatus.FINISHED).first(), timeout=90)
    assert run.as_of == as_of
    assert run.input_rows == CrossBorderTransfer.objects.filter(occurred_at__lte=as_of).count() > 400

    out = StringIO()
    call_command("compute_outflows", "--as-of", as_of.isoformat(), "--json", stdout=out)
    by_command = OutflowRun.objects.get(pk=json.loads(out.getvalue())["run"])
    assert _rows(run) == _rows(by_command)
    assert run.excess_return_byn == by_command.excess_return_byn
    assert run.input_fingerprint == by_command.input_fingerprint


@pytest.mark.celery
def test_queued_run_requested_from_the_ui_is_filled_by_the_worker(transactional_db, celery_worker_process):
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    run = outflow_run_request(as_of=BASE + dt.timedelta(days=800), window_days=365)
    assert run.status == RunStatus.QUEUED
    wait_for(lambda: OutflowRun.objects.get(pk=run.pk).status == RunStatus.FINISHED, timeout=90)
    assert OutflowRun.objects.count() == 1
    assert run.stats.get(dimension="overall", key="all", cohort="all").returned_value_byn == 60


@pytest.mark.celery
def test_many_accepted_registers_within_the_window_give_one_run(transactional_db, celery_worker_process, monkeypatch):
    monkeypatch.setattr(tasks, "RECOMPUTE_DEBOUNCE_S", 2)  # a minute in production
    add_transfers(transfer("OUT", "100", day=0))
    for _ in range(5):
        tasks.schedule_outflow_recompute()
    wait_for(lambda: OutflowRun.objects.filter(status=RunStatus.FINISHED).exists(), timeout=60)
    time.sleep(4)  # a second run would have started by now
    assert OutflowRun.objects.count() == 1
    # After the window a new register schedules a new run.
    wait_for(lambda: cache.get(tasks.RECOMPUTE_DEBOUNCE_KEY) is None, timeout=10)
    tasks.schedule_outflow_recompute()
    wait_for(lambda: OutflowRun.objects.filter(status=RunStatus.FINISHED).count() == 2, timeout=60)


@pytest.mark.django_db
def test_schedule_is_debounced_and_waits_for_commit(monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(tasks.compute_outflows_task, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.schedule_outflow_recompute()
        tasks.schedule_outflow_recompute()
        assert sent == []  # nothing before the caller's transaction commits
    tasks.schedule_outflow_recompute()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.schedule_outflow_recompute()
    assert sent == [{"countdown": tasks.RECOMPUTE_DEBOUNCE_S}]


@pytest.mark.django_db
def test_task_is_idempotent_and_yields_to_a_running_computation():
    add_transfers(transfer("OUT", "100", day=0))
    run_id = tasks.compute_outflows_task.apply(kwargs={"as_of": "2026-01-01T00:00:00+00:00"}).get()
    assert tasks.compute_outflows_task.apply(kwargs={"run_id": run_id}).get() == run_id  # finished: unchanged
    assert OutflowRun.objects.count() == 1
    cache.add(LOCK_KEY, "other", timeout=60)
    assert tasks.compute_outflows_task.apply().get() is None  # inline (embedded default): skipped, not blocked
    assert OutflowRun.objects.count() == 1


def test_nightly_beat_entry_runs_the_task():
    from config.celery import app

    entry = app.conf.beat_schedule["outflows-nightly-compute"]
    assert entry["task"] == tasks.compute_outflows_task.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({1}, {30})
