"""Work leases (operators/leases.py): one live process per filing or run; lapsed work is re-sent once.

On PostgreSQL with committed rows (transactional), so that the heartbeat thread runs as in a worker.
"""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from config.celery import app
from filings import leases, services
from operators.models import FilingStatus, RegistrationFiling, WorkLease
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, submit

pytestmark = pytest.mark.django_db(transaction=True)


def _received_filing(monkeypatch) -> RegistrationFiling:
    """A committed filing whose message was never sent (as if Redis had been down)."""
    monkeypatch.setattr("filings.tasks.process_filing.delay", lambda *args, **kwargs: None)
    sample = (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()
    filing = submit(OperatorFactory(), sample, process_now=False).filing
    monkeypatch.undo()
    assert filing.status == FilingStatus.RECEIVED
    return filing


def _expire(object_id: int, *, kind: str = leases.FILING) -> None:
    WorkLease.objects.filter(kind=kind, object_id=object_id).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_visibility_timeout_outlasts_the_hard_time_limit_so_no_task_is_delivered_twice():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > app.conf.task_time_limit + 60
    assert django_settings.WORK_LEASE_SECONDS >= 3 * django_settings.WORK_LEASE_RENEW_SECONDS


def test_a_visibility_timeout_shorter_than_the_time_limit_stops_start_up():
    code = "import django; django.setup()"
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings", "CELERY_VISIBILITY_TIMEOUT": "120"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=django_settings.BASE_DIR
    )
    assert "CELERY_VISIBILITY_TIMEOUT must exceed" in done.stderr


def test_a_live_lease_refuses_a_second_holder_until_it_lapses():
    first = leases.lease_take(kind=leases.FILING, object_id=10**9)
    assert first is not None
    assert first.attempts == 1
    assert leases.lease_take(kind=leases.FILING, object_id=10**9) is None
    _expire(10**9)
    second = leases.lease_take(kind=leases.FILING, object_id=10**9)
    assert second is not None
    assert second.attempts == 2
    assert not leases.lease_renew(first)  # the first holder lost it
    assert leases.lease_renew(second)


def test_a_lease_held_by_a_dead_process_on_this_host_is_taken_over_at_once():
    dead = subprocess.Popen(["true"])
    dead.wait()
    leases.lease_take(kind=leases.FILING, object_id=10**9 + 1)
    holder = leases._holder().replace(f":{os.getpid()}:", f":{dead.pid}:")  # this host, an exited pid
    WorkLease.objects.filter(object_id=10**9 + 1).update(holder=holder)
    assert leases.lease_take(kind=leases.FILING, object_id=10**9 + 1) is not None


def test_the_heartbeat_renews_the_lease_while_the_work_runs(settings):
    settings.WORK_LEASE_SECONDS, settings.WORK_LEASE_RENEW_SECONDS = 2, 0.3
    with leases.lease_held(kind=leases.FILING, object_id=10**9 + 2) as lease:
        assert lease is not None
        time.sleep(3)  # longer than the lease: only the renewals keep it live
        assert WorkLease.objects.get(object_id=10**9 + 2).expires_at > timezone.now()
        assert leases.lease_take(kind=leases.FILING, object_id=10**9 + 2) is None
    assert not WorkLease.objects.filter(object_id=10**9 + 2).exists()  # done: forgotten


def test_work_that_raised_keeps_its_attempts_and_is_due_at_once(monkeypatch):
    filing = _received_filing(monkeypatch)
    with pytest.raises(RuntimeError), leases.lease_held(kind=leases.FILING, object_id=filing.pk):
        raise RuntimeError("worker fault")
    assert leases.lease_attempts(kind=leases.FILING, object_id=filing.pk) == 1
    assert services.filings_stuck() == [filing.pk]
    assert services.filings_stuck() == []  # re-sent just now: not again until WORK_RESEND_AFTER_SECONDS


def test_sweeper_resends_never_leased_work_only_after_the_resend_delay(monkeypatch, settings):
    filing = _received_filing(monkeypatch)
    assert services.filings_stuck() == []  # just sent: its message may still be queued
    settings.WORK_RESEND_AFTER_SECONDS = 0
    assert services.filings_stuck() == [filing.pk]


def test_sweeper_never_resends_a_filing_whose_lease_is_live(monkeypatch, settings):
    filing = _received_filing(monkeypatch)
    settings.WORK_RESEND_AFTER_SECONDS = 0
    lease = leases.lease_take(kind=leases.FILING, object_id=filing.pk)
    assert services.filings_stuck() == []
    _expire(filing.pk)
    assert services.filings_stuck() == [filing.pk]
    leases.lease_release(lease, done=True)


def test_a_copy_delivered_while_another_process_imports_returns_at_once(monkeypatch):
    filing = _received_filing(monkeypatch)
    leases.lease_take(kind=leases.FILING, object_id=filing.pk)  # "another worker" holds it
    started = time.monotonic()
    assert services.filing_process(filing_id=filing.pk).status == FilingStatus.RECEIVED
    assert time.monotonic() - started < 2
    assert not CrossBorderTransfer.objects.filter(filing=filing).exists()
    _expire(filing.pk)  # that worker died
    assert services.filing_process(filing_id=filing.pk).status == FilingStatus.ACCEPTED
    assert not WorkLease.objects.filter(object_id=filing.pk).exists()


def test_a_filing_whose_worker_died_too_often_is_rejected_not_retried_for_ever(monkeypatch, settings):
    filing = _received_filing(monkeypatch)
    for _ in range(settings.WORK_MAX_ATTEMPTS):
        leases.lease_take(kind=leases.FILING, object_id=filing.pk)
        _expire(filing.pk)
    done = services.filing_process(filing_id=filing.pk)
    assert done.status == FilingStatus.REJECTED
    assert list(done.errors.values_list("code", flat=True)) == ["internal_error"]
    assert not CrossBorderTransfer.objects.filter(filing=filing).exists()
