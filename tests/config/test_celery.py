"""A real Celery worker on Redis runs tasks enqueued on commit, and none of a rolled-back transaction."""

import pytest
from django.db import transaction

from config.celery import ping
from operators.models import ForeignPlatform
from tests.conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_task_enqueued_on_commit_runs_on_the_real_worker(celery_worker_process, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with transaction.atomic():
        ForeignPlatform.objects.create(slug="commit-marker", name="x", country="AE")
        ping.delay_on_commit("after-commit-1")
    wait_for(lambda: "after-commit-1" in celery_worker_process["log"].read_text(), timeout=30)


def test_task_of_a_rolled_back_transaction_is_never_sent(celery_worker_process, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    class Rollback(Exception):
        pass

    def enqueue_then_fail():
        with transaction.atomic():
            ping.delay_on_commit("rolled-back-2")
            raise Rollback

    with pytest.raises(Rollback):
        enqueue_then_fail()
    ping.delay_on_commit("sentinel-3")  # sent after; once it ran, the rolled-back one would have too
    log = celery_worker_process["log"]
    wait_for(lambda: "sentinel-3" in log.read_text(), timeout=30)
    assert "rolled-back-2" not in log.read_text()


def test_beat_schedule_names_only_registered_tasks():
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled == {
        "outflows.compute",
        "audits.scan_violations",
        "audits.send_filing_reminders",
        "operators.requeue_stuck_filings",
        "outflows.requeue_stuck_runs",
        "audits.checkpoint_audit_log",
        "audits.escalate_overdue_flags",
        "filings.purge_kept_uploads",
        "webhooks.collect",
        "casework.data_request_nudges",
        "screening.rescreen",
    }
    assert scheduled <= set(app.tasks)
