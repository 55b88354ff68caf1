"""The test command's own plumbing: per-xdist-worker services, and pure tests that need no database."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.xdist_env import worker_environment

ROOT = Path(__file__).resolve().parent.parent
SERIAL = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "AUDIT_CHECKPOINT_DIR": "/tmp/run/audit-checkpoints",
}


def test_each_worker_has_its_own_redis_databases_and_checkpoint_directory():
    gw0, gw1 = worker_environment("gw0", SERIAL), worker_environment("gw1", SERIAL)
    assert gw0 == {
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/2",
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "AUDIT_CHECKPOINT_DIR": "/tmp/run/audit-checkpoints/gw0",
    }
    assert gw1["CELERY_BROKER_URL"].endswith("/4")
    assert gw1["REDIS_URL"].endswith("/5")
    used = [SERIAL["CELERY_BROKER_URL"], SERIAL["REDIS_URL"]]
    for env in (gw0, gw1, worker_environment("gw6", SERIAL)):
        used += [env["CELERY_BROKER_URL"], env["REDIS_URL"]]
    assert len(set(used)) == len(used)


def test_a_result_backend_follows_its_broker_and_unset_variables_stay_unset():
    env = worker_environment("gw2", {"CELERY_BROKER_URL": "redis://r:1", "CELERY_RESULT_BACKEND": "redis://r:1/0"})
    assert env == {"CELERY_BROKER_URL": "redis://r:1/6", "CELERY_RESULT_BACKEND": "redis://r:1/6"}


def test_more_workers_than_redis_databases_is_a_clear_error():
    with pytest.raises(RuntimeError, match="fewer workers"):
        worker_environment("gw7", SERIAL)


def test_pure_tests_run_without_a_database():
    """Only tests that use the database need PostgreSQL: these very tests pass with none configured
    (the settings fall back to the embedded SQLite default, which they never open)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", __file__, "-k", "not pure"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 passed" in done.stdout
