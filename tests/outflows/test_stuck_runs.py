"""A queued outflow run whose task was lost is re-sent by the periodic sweeper and finishes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from outflows.models import OutflowRun
from outflows.tasks import requeue_stuck_runs
from tests.conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_lost_queued_run_is_computed_after_the_sweep(celery_worker_process):
    lost = OutflowRun.objects.create(as_of=timezone.now(), status="queued")
    recent = OutflowRun.objects.create(as_of=timezone.now(), status="queued")
    OutflowRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert requeue_stuck_runs.apply().get() == 1  # only the old one counts as lost
    wait_for(lambda: OutflowRun.objects.get(pk=lost.pk).status == "finished", timeout=60)
    assert OutflowRun.objects.get(pk=recent.pk).status == "queued"
