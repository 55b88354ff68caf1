"""Faults on purpose: Redis is SIGKILLed while a filing's task is queued, then started again.

With AOF on (as in docker-compose and the test command) the queued message survives the
crash; a worker started afterwards processes the filing to `accepted`.
"""

import os
import signal
import socket
import subprocess
import time

import pytest

from config.celery import app
from filings.tasks import process_filing
from operators.models import FilingStatus, RegistrationFiling
from tests.conftest import start_celery_worker, wait_for
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, submit

pytestmark = [pytest.mark.faults, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(port: int, directory) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0,
        timeout=20,
        interval=0.1,
    )
    return proc


def test_queued_filing_survives_a_redis_crash(tmp_path, celery_worker_process, monkeypatch):
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis = _start_redis(port, tmp_path)
    worker = None
    try:
        monkeypatch.setattr("filings.tasks.process_filing.delay", lambda *a, **k: None)  # sent by hand below
        sample = (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()
        filing = submit(OperatorFactory(), sample, process_now=False).filing
        monkeypatch.undo()
        with app.connection_for_write(broker) as connection:
            process_filing.apply_async((filing.pk,), connection=connection)
        time.sleep(1.5)  # AOF is fsynced every second
        os.kill(redis.pid, signal.SIGKILL)
        redis.wait(timeout=10)
        redis = _start_redis(port, tmp_path)
        queued = subprocess.run(["redis-cli", "-p", str(port), "llen", "celery"], capture_output=True, text=True)
        assert queued.stdout.strip() == "1"  # the message came back from the AOF
        env = {**celery_worker_process["env"], "CELERY_BROKER_URL": broker}
        worker = start_celery_worker(env, tmp_path / "worker.log")
        wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=60)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
        redis.kill()
        redis.wait(timeout=10)
