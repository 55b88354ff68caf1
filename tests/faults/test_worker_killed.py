"""Faults on purpose: the worker's child is SIGKILLed in the middle of importing a 200,000-row register.

acks_late + task_reject_on_worker_lost put the message back on the queue; the
respawned child imports the filing again from scratch (the killed transaction left
nothing behind), so it ends `accepted` with exactly its rows, once.
"""

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest

from operators.models import FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.conftest import wait_for
from tests.factories import OperatorFactory
from tests.operators.intake_helpers import TRANSFER_HEADER, submit

pytestmark = [pytest.mark.faults, pytest.mark.celery, pytest.mark.django_db(transaction=True)]
ROWS = 200_000


def _register(rows: int) -> bytes:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    lines = [TRANSFER_HEADER]
    for n in range(rows):
        at = (start + timedelta(seconds=n * 10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        direction = "OUT" if n % 3 else "IN"
        lines.append(f"F{n:07d},{at},{direction},inv{n % 5000},binance,AE,USDT,{n % 900 + 1}.5,{n % 700 + 1}.25\n")
    return "".join(lines).encode()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _filing_being_imported() -> RegistrationFiling:
    """A 200,000-row register submitted to the worker, once its import has begun."""
    filing = submit(OperatorFactory(), _register(ROWS), process_now=False).filing
    wait_for(
        lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.PROCESSING,
        timeout=60,
        interval=0.05,
    )
    return filing


def _assert_accepted_once_within_3_minutes(filing: RegistrationFiling, started: float) -> None:
    wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=180)
    assert time.monotonic() - started < 180
    filing.refresh_from_db()
    assert filing.rows_imported == ROWS
    assert CrossBorderTransfer.objects.filter(filing=filing).count() == ROWS


def test_filing_survives_its_worker_child_being_killed_mid_import(celery_worker_process):
    filing = _filing_being_imported()
    worker = celery_worker_process["process"]
    time.sleep(0.5)  # well into the import
    killed = _children(worker.pid)
    assert killed, "the prefork worker has children"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    _assert_accepted_once_within_3_minutes(filing, started)
    log = celery_worker_process["log"].read_text()
    assert "SIGKILL" in log  # the child really died mid-task ...
    assert "WorkerLostError" in log  # ... and its task was rejected back onto the queue
    assert worker.poll() is None  # the main worker process lived on and respawned its children
    assert set(_children(worker.pid)).isdisjoint(killed)


def test_filing_survives_the_whole_worker_being_killed_mid_import(celery_worker_process):
    """The whole worker dies (SIGKILL, no chance to reject): after a new worker starts, kombu
    restores the unacknowledged message once the visibility timeout has passed."""
    from tests.conftest import start_celery_worker

    filing = _filing_being_imported()
    worker = celery_worker_process["process"]
    time.sleep(0.5)
    children = _children(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    started = time.monotonic()
    celery_worker_process["process"] = start_celery_worker(celery_worker_process["env"], celery_worker_process["log"])
    _assert_accepted_once_within_3_minutes(filing, started)
