"""Fixtures of the fault tests: a real worker whose work leases are short, so lapses are seen in seconds;
the session's worker checked to consume again after a test broke Redis under it."""

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from config.celery import ping
from tests.conftest import start_celery_worker

# Renewed every half second, lapsing 3 s after the last renewal (production: 10 s and 60 s).
SHORT_LEASE = {"WORK_LEASE_SECONDS": "3", "WORK_LEASE_RENEW_SECONDS": "0.5"}


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def short_lease_worker(celery_worker_process, tmp_path):
    """The session's worker replaced by one with SHORT_LEASE and a log of its own (the test may
    replace it again: `process`); the session's worker is started again afterwards."""
    stop_worker(celery_worker_process["process"])
    env = {**celery_worker_process["env"], **SHORT_LEASE}
    log = tmp_path / "short-lease-worker.log"
    log.touch()
    worker = {"process": start_celery_worker(env, log), "log": log, "env": env}
    yield worker
    stop_worker(worker["process"])
    celery_worker_process["process"] = start_celery_worker(celery_worker_process["env"], celery_worker_process["log"])


def ping_ran(log: Path, marker: str) -> bool:
    """The worker's log says that a `config.ping` task with `marker` ran."""
    return any("succeeded in" in line and f"'{marker}'" in line for line in log.read_text().splitlines())


def worker_consumes(worker: dict, *, timeout: float = 60) -> bool:
    """Whether the session's worker (`celery_worker_process`) takes a task sent now from the
    queue and runs it within `timeout`: alive and connected is not enough, it must consume."""
    marker = f"consumes-{uuid.uuid4().hex}"
    ping.apply_async((marker,))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping_ran(worker["log"], marker):
            return True
        if worker["process"].poll() is not None:
            return False
        time.sleep(0.2)
    return False


@pytest.fixture
def session_worker_consumes_afterwards(celery_worker_process):
    """For a test that breaks Redis under the session's worker (request it before the fixture
    that restores Redis): afterwards the worker must consume again, by itself, within a minute.
    If it does not, this test's teardown fails, and the worker is started anew first, so that
    the tests after it are not failed by a worker this one broke."""
    yield
    if worker_consumes(celery_worker_process):
        return
    log = celery_worker_process["log"]
    tail = log.read_text()[-4000:]
    stop_worker(celery_worker_process["process"])
    celery_worker_process["process"] = start_celery_worker(celery_worker_process["env"], log)
    pytest.fail(f"The session's Celery worker did not consume after Redis came back (restarted it):\n{tail}")
