"""Faults on purpose: the worker's child, or the whole worker, is SIGKILLed in the middle of importing a
200,000-row register; and an import longer than several lease renewals, with the sweeper running.

A killed child: acks_late + task_reject_on_worker_lost put the message back on the queue
at once, and the redelivered copy takes over the lease of the dead child. A killed
worker: its message waits for the visibility timeout (over an hour), so the filing comes
back through its work lease, which lapses, and the sweeper, which re-sends it. Either
way the import starts again from scratch (the killed transaction left nothing behind)
and the filing ends `accepted` with exactly its rows, once.
"""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from filings import leases
from filings.tasks import requeue_stuck_filings
from operators.models import FilingStatus, Operator, RegistrationFiling, WorkLease
from outflows.models import CrossBorderTransfer
from tests.conftest import start_celery_worker, wait_for
from tests.factories import OperatorFactory
from tests.faults.conftest import SHORT_LEASE
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = [pytest.mark.faults, pytest.mark.celery, pytest.mark.django_db(transaction=True)]
ROWS = 200_000


def _register(rows: int) -> bytes:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    lines = [TRANSFER_HEADER]
    for n in range(rows):
        at = (start + timedelta(seconds=n * 10 * ROWS // rows)).strftime("%Y-%m-%dT%H:%M:%SZ")
        direction = "OUT" if n % 3 else "IN"
        lines.append(f"F{n:07d},{at},{direction},inv{n % 5000},binance,AE,USDT,{n % 900 + 1}.5,{n % 700 + 1}.25\n")
    return "".join(lines).encode()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _filing_being_imported(rows: int = ROWS, operator: Operator | None = None) -> RegistrationFiling:
    """A 200,000-row register submitted to the worker, once its import has begun."""
    filing = submit(operator or OperatorFactory(), _register(rows), process_now=False).filing
    wait_for(
        lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.PROCESSING,
        timeout=60,
        interval=0.05,
    )
    return filing


def _assert_accepted_once_within_3_minutes(filing: RegistrationFiling, started: float, rows: int = ROWS) -> None:
    wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=180)
    assert time.monotonic() - started < 180
    filing.refresh_from_db()
    assert filing.rows_imported == rows
    assert CrossBorderTransfer.objects.filter(filing=filing).count() == rows


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


def _sweep_until_accepted(filing: RegistrationFiling, *, timeout: float = 180) -> list[int]:
    """Sweep every second (beat: every minute) until the filing is accepted; what each sweep re-sent."""
    sent = []
    deadline = time.monotonic() + timeout
    while RegistrationFiling.objects.get(pk=filing.pk).status != FilingStatus.ACCEPTED:
        assert time.monotonic() < deadline, "not accepted in time"
        sent.append(requeue_stuck_filings())
        time.sleep(1)
    return sent


def test_filing_survives_the_whole_worker_being_killed_mid_import(short_lease_worker, settings):
    """The whole worker dies (SIGKILL, no chance to reject). Its message is not redelivered (the
    visibility timeout outlasts any task); the lease lapses and the sweeper re-sends the filing."""
    settings.WORK_RESEND_AFTER_SECONDS = 5
    filing = _filing_being_imported()
    worker = short_lease_worker["process"]
    time.sleep(0.5)
    children = _children(worker.pid)
    os.kill(worker.pid, signal.SIGKILL)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)
    started = time.monotonic()
    assert requeue_stuck_filings() == 0  # its lease has not lapsed yet
    short_lease_worker["process"] = start_celery_worker(short_lease_worker["env"], short_lease_worker["log"])
    sent = _sweep_until_accepted(filing)
    assert sum(sent) == 1  # re-sent once, after the lapse; never again while the new import held the lease
    _assert_accepted_once_within_3_minutes(filing, started)


@contextmanager
def _operator_lock_held(operator: Operator) -> Iterator[None]:
    """The operator's import lock (the row FOR NO KEY UPDATE, as filings/locks.py takes it) held by
    another connection while the block runs: an import of the operator waits for it, as behind
    another import of the same operator, with its lease renewed all along."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Operator.objects.select_for_update(no_key=True).filter(pk=operator.pk).first()
                taken.set()
                release.wait(timeout=120)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(timeout=30), "the operator's lock was not taken"
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=30)


def test_an_import_longer_than_many_lease_renewals_is_delivered_once(short_lease_worker, settings):
    """The sweeper runs four times a second during the import and never re-sends it (its lease is
    renewed); the worker received the task once and the rows are there once. The import is made
    longer than two whole leases, whatever the machine's speed, by another holder of the operator's
    import lock; how long it took is judged by the lease's renewals in the database."""
    settings.WORK_RESEND_AFTER_SECONDS = 0  # the sweeper at its most eager
    lease_s, renew_s = float(SHORT_LEASE["WORK_LEASE_SECONDS"]), float(SHORT_LEASE["WORK_LEASE_RENEW_SECONDS"])
    operator = OperatorFactory()
    expiries, sent = [], []

    def sweep_and_watch() -> None:
        lease = WorkLease.objects.filter(kind=leases.FILING, object_id=filing.pk)
        expiries.extend(lease.values_list("expires_at", flat=True))
        sent.append(requeue_stuck_filings())
        time.sleep(0.25)

    with _operator_lock_held(operator):
        filing = _filing_being_imported(ROWS, operator)
        started = time.monotonic()
        while time.monotonic() - started < 2 * lease_s:
            sweep_and_watch()
        assert RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.PROCESSING
    while RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.PROCESSING:
        sweep_and_watch()
        assert time.monotonic() - started < 300
    # Renewed all along (every renew_s): as often as fit in a whole lease and more, and its
    # expiry moved on by more than a whole lease, so without the renewals it would have lapsed.
    assert len(set(expiries)) >= lease_s / renew_s
    assert max(expiries) - min(expiries) > timedelta(seconds=lease_s)
    assert sum(sent) == 0
    _assert_accepted_once_within_3_minutes(filing, started)
    received = [
        line
        for line in short_lease_worker["log"].read_text().splitlines()
        if "operators.process_filing[" in line and "received" in line
    ]
    assert len(received) == 1
    assert not WorkLease.objects.filter(kind=leases.FILING, object_id=filing.pk).exists()
