"""Faults on purpose: Redis restarts while the worker holds a message; the worker lives on and consumes again.

The worker holds an unacknowledged message whenever it runs a task (acks_late) or waits for
a countdown task's time (the debounced outflow recompute, after every accepted register).
With Celery 5.7's own consumer a Redis restart then stopped the worker's main process
("Unrecoverable error: AttributeError"), and nothing consumed until it was restarted by hand;
config/celery_consumer.py keeps it alive. Each test has a Redis and a worker of its own.
"""

import subprocess
import time

import pytest

from config.celery import app, ping
from filings.tasks import process_filing
from operators.models import FilingStatus, RegistrationFiling
from tests.conftest import start_celery_worker, wait_for
from tests.factories import OperatorFactory
from tests.faults.conftest import ping_ran
from tests.faults.test_redis_killed import _free_port, _start_redis
from tests.faults.test_worker_killed import ROWS, _register
from tests.filings.intake_helpers import submit

pytestmark = [pytest.mark.faults, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_broker(tmp_path, celery_worker_process):
    """A Redis of this test's own (AOF on) and a worker on it; `restart()` shuts Redis down and starts it again."""
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    state = {"redis": _start_redis(port, tmp_path)}
    env = {**celery_worker_process["env"], "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}
    log = tmp_path / "worker.log"
    worker = start_celery_worker(env, log)

    def send(task, *args, **options):
        with app.connection_for_write(url) as connection:
            return task.apply_async(args, connection=connection, **options)

    def restart(down_seconds: float = 3) -> None:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown"], capture_output=True, timeout=20)
        state["redis"].wait(timeout=20)
        time.sleep(down_seconds)
        state["redis"] = _start_redis(port, tmp_path)

    def consumes(marker: str, timeout: float = 60) -> None:
        """The worker takes a new task from the queue and runs it."""
        send(ping, marker)
        wait_for(lambda: ping_ran(log, marker), timeout=timeout)

    yield {"worker": worker, "log": log, "send": send, "restart": restart, "consumes": consumes, "port": port}
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    state["redis"].kill()
    state["redis"].wait(timeout=10)


def _connects(log) -> int:
    return log.read_text().count("Connected to redis")


def test_a_worker_waiting_for_a_countdown_task_survives_a_redis_restart(own_broker):
    log = own_broker["log"]
    own_broker["send"](ping, "held", countdown=600)  # as the debounced recompute: held, unacknowledged
    wait_for(lambda: "config.ping" in log.read_text() and "received" in log.read_text(), timeout=30)
    connected = _connects(log)

    own_broker["restart"]()

    wait_for(lambda: _connects(log) > connected, timeout=60)  # it reconnected by itself ...
    assert own_broker["worker"].poll() is None, log.read_text()[-3000:]  # ... alive (it used to exit)
    assert "Unrecoverable error" not in log.read_text()
    own_broker["consumes"]("after-restart")  # ... and consumes again
    # The held message is not lost: Redis keeps it among the unacknowledged ones (AOF) and
    # hands it out again after the visibility timeout.
    unacked = subprocess.run(
        ["redis-cli", "-p", str(own_broker["port"]), "hlen", "unacked"], capture_output=True, text=True
    )
    assert unacked.stdout.strip() == "1"


def test_an_import_running_through_a_redis_restart_finishes_and_the_worker_consumes_again(own_broker, monkeypatch):
    log = own_broker["log"]
    monkeypatch.setattr("filings.tasks.process_filing.delay", lambda *a, **k: None)  # sent by hand below
    filing = submit(OperatorFactory(), _register(ROWS), process_now=False).filing
    monkeypatch.undo()
    own_broker["send"](process_filing, filing.pk)
    wait_for(
        lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.PROCESSING,
        timeout=60,
        interval=0.05,
    )
    connected = _connects(log)

    own_broker["restart"]()

    wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=180)
    wait_for(lambda: _connects(log) > connected, timeout=60)
    assert own_broker["worker"].poll() is None, log.read_text()[-3000:]
    assert "Unrecoverable error" not in log.read_text()
    own_broker["consumes"]("after-import")
    filing.refresh_from_db()
    assert filing.rows_imported == ROWS
