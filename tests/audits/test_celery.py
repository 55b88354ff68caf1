"""The scan through a real Celery worker on Redis, against the test database."""

from datetime import date

import pytest

from audits.models import Flag, ScanRun, ScanStatus
from audits.tasks import scan_violations
from tests.audits import helpers as h
from tests.conftest import wait_for

pytestmark = [pytest.mark.celery]


@pytest.mark.usefixtures("transactional_db")
def test_scan_task_runs_in_a_worker_and_is_idempotent(celery_worker_process):
    h.seed_catalogue()
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("shady", verified=False), [(h.NOW, "OUT", "i1", "10.00")])
    scan_violations.delay()
    scan = wait_for(lambda: ScanRun.objects.filter(status=ScanStatus.FINISHED).first(), timeout=60)
    assert scan.opened >= 1
    flag = Flag.objects.get(operator=op, rule__code="UNKNOWN_PLATFORM")
    assert flag.evidence["transfer_count"] == 1
    scan_violations.delay()
    second = wait_for(
        lambda: ScanRun.objects.filter(status=ScanStatus.FINISHED).exclude(pk=scan.pk).first(), timeout=60
    )
    assert (second.opened, second.cleared) == (0, 0)
    assert Flag.objects.filter(operator=op).count() == scan.opened
