"""Shared fixtures: a real Celery worker on Redis for the tests that need one; the embedded default.

The test command (scripts/test.sh) starts PostgreSQL and Redis and exports
DATABASE_URL, CELERY_BROKER_URL and REDIS_URL; these fixtures refuse to fake them.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.xdist_env import worker_environment

ROOT = Path(__file__).resolve().parent.parent


def _require_real_services() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("Tests run on PostgreSQL: use the README's test command (scripts/test.sh).")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """Only tests that use the database need PostgreSQL (checked before the test database is
    made); the unit tests of pure code (engine, validators, calendar, formats) run without one."""
    _require_real_services()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs):
    """Under pytest-xdist each worker gets its own Redis databases and checkpoint directory
    (tests/xdist_env.py), in its environment from its start; its test database is pytest-django's."""
    for spec in specs:
        spec.env.update(worker_environment(spec.id, os.environ))


@pytest.fixture(scope="session")
def media_root(tmp_path_factory):
    """One media directory for the test process and the Celery worker: both read the stored filings."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root(media_root, settings):
    settings.MEDIA_ROOT = media_root


@pytest.fixture(autouse=True)
def _audit_checkpoint_dir(tmp_path, settings):
    """Each test its own audit-log checkpoints: the database is emptied between tests, files are not."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


def start_celery_worker(env: dict, log: Path) -> subprocess.Popen:
    """Start a real `celery worker` (prefork, 2 children) and wait until it is ready; its output goes to `log`."""
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    ready_before = log.read_text().count("ready.")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.read_text().count("ready.") > ready_before:
            return proc
        if proc.poll() is not None:
            pytest.fail(f"Celery worker exited:\n{log.read_text()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"Celery worker did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, media_root):
    """A real `celery worker` process on the real Redis broker, using the test database.

    Tests using it need `transactional_db` so that their writes are visible to the worker.
    A test may replace the process (fault tests kill it): teardown stops whatever is there.
    """
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.fail("CELERY_BROKER_URL is not set: use the README's test command.")
    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env["MEDIA_ROOT"] = str(media_root)
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    log.touch()
    # Purge what an earlier, aborted run may have left in the queue.
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "purge", "-f"],
        env=env,
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    worker = {"process": start_celery_worker(env, log), "log": log, "env": env}
    yield worker
    worker["process"].terminate()
    try:
        worker["process"].wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker["process"].kill()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2):
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s")


def embedded_sqlite_manage(tmp_path: Path, transfers: list[dict]):
    """`manage.py` on the embedded default (a fresh SQLite file, no Redis, Celery inline), each
    command in a process of its own; migrated and holding `transfers` (factories dicts).

    Returns run(*args) -> its stdout, failing the test on a non-zero exit.
    """
    data = tmp_path / "transfers.json"
    data.write_text(json.dumps(transfers))
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    manage = [sys.executable, str(ROOT / "manage.py")]

    def run(*args: str) -> str:
        done = subprocess.run([*manage, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("migrate", "--noinput", "-v", "0")
    run("shell", "-c", f"from tests.outflows.factories import load_json; load_json({str(data)!r})")
    return run
