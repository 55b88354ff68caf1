"""The daily escalation through a real Celery worker on Redis: run twice, the overdue flag is escalated once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.models import Flag, FlagEscalation, Notification, Rule
from audits.tasks import escalate_overdue_flags
from tests.audits import helpers as h
from tests.factories import supervisor

pytestmark = [pytest.mark.celery]


@pytest.mark.usefixtures("transactional_db")
def test_escalation_task_runs_in_a_worker_once_per_level(celery_worker_process):
    h.seed_catalogue()
    sup = supervisor()
    flag = Flag.objects.create(
        operator=h.operator(),
        rule=Rule.objects.get(code="MISSING_FILING"),
        fingerprint="x" * 64,
        subject="s",
        severity="high",
        due_date=timezone.localdate() - timedelta(days=30),
    )
    assert escalate_overdue_flags.apply_async(ignore_result=False).get(timeout=60) == 1
    assert escalate_overdue_flags.apply_async(ignore_result=False).get(timeout=60) == 0
    assert FlagEscalation.objects.filter(flag=flag).count() == 1
    assert Notification.objects.filter(recipient=sup, flag=flag).count() == 1
