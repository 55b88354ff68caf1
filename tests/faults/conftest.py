"""Fixtures of the fault tests: a real worker whose work leases are short, so lapses are seen in seconds."""

import subprocess

import pytest

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
