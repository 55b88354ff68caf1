"""Two scans, or two outflow runs, started at once from separate processes: one runs, the other is refused."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from audits.models import ScanRun
from audits.services import SCAN_LOCK_KEY
from outflows.models import OutflowRun
from outflows.services import LOCK_KEY as OUTFLOW_LOCK_KEY

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _manage(*args: str) -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("lock_key", "command", "model"),
    [(SCAN_LOCK_KEY, "scan_violations", ScanRun), (OUTFLOW_LOCK_KEY, "compute_outflows", OutflowRun)],
)
def test_a_second_process_is_refused_while_the_first_holds_the_lock(lock_key, command, model):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"  # shared by all processes
    assert cache.add(lock_key, "first-process", timeout=60)  # the first run is in progress
    try:
        before = model.objects.filter(status="finished").count()
        second = _manage(command)
        assert second.returncode != 0
        assert model.objects.filter(status="finished").count() == before  # it did not run
    finally:
        cache.delete(lock_key)
    third = _manage(command)  # once the first is done, the next one runs
    assert third.returncode == 0, third.stderr
    assert model.objects.filter(status="finished").count() == before + 1
