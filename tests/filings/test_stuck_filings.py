"""A filing whose processing task was lost is re-sent by the periodic sweeper and ends accepted, once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from filings import services
from filings.tasks import requeue_stuck_filings
from operators.models import FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.conftest import wait_for
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, submit


def _lost_filing(monkeypatch):
    """Submit as an upload does, but lose the task message (as a Redis crash without AOF would)."""
    monkeypatch.setattr("filings.tasks.process_filing.delay", lambda *args, **kwargs: None)
    sample = (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()
    result = submit(OperatorFactory(), sample, process_now=False)
    monkeypatch.undo()
    filing = result.filing
    assert filing.status == FilingStatus.RECEIVED
    RegistrationFiling.objects.filter(pk=filing.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
    return filing


@pytest.mark.django_db
def test_only_old_unfinished_filings_count_as_stuck(monkeypatch):
    filing = _lost_filing(monkeypatch)
    assert services.filings_stuck() == [filing.pk]
    RegistrationFiling.objects.filter(pk=filing.pk).update(updated_at=timezone.now())
    assert services.filings_stuck() == []
    RegistrationFiling.objects.filter(pk=filing.pk).update(
        status=FilingStatus.ACCEPTED, updated_at=timezone.now() - timedelta(hours=1)
    )
    assert services.filings_stuck() == []


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_sweeper_on_the_real_worker_gets_a_lost_filing_accepted_once(celery_worker_process, monkeypatch):
    filing = _lost_filing(monkeypatch)
    requeue_stuck_filings.delay()
    wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=60)
    requeue_stuck_filings.delay()  # a second sweep finds nothing to do ...
    log = celery_worker_process["log"]
    wait_for(
        lambda: any(
            "requeue_stuck_filings" in line and line.rstrip().endswith(": 0") for line in log.read_text().splitlines()
        ),
        timeout=30,
    )
    # ... and the filing's rows are there exactly once.
    assert CrossBorderTransfer.objects.filter(filing=filing).count() == 5
