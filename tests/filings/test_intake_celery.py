"""A filing submitted on the web path is processed by a real Celery worker (Redis broker, test database)."""

import pytest

from operators.models import FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.conftest import wait_for
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import submit, transfer_rows

pytestmark = [pytest.mark.celery]


def test_submitted_filing_is_accepted_by_the_worker(celery_worker_process, transactional_db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    # The worker stores and reads files under its own MEDIA_ROOT.
    settings.MEDIA_ROOT = celery_worker_process["env"]["MEDIA_ROOT"]
    operator = OperatorFactory()
    result = submit(operator, transfer_rows(50), process_now=False)
    assert result.filing.status == FilingStatus.RECEIVED

    def accepted():
        return RegistrationFiling.objects.filter(pk=result.filing.pk, status=FilingStatus.ACCEPTED).exists()

    wait_for(accepted, timeout=60)
    assert CrossBorderTransfer.objects.filter(filing=result.filing).count() == 50
