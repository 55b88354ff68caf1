"""Per-worker services under pytest-xdist (tests/conftest.py's `pytest_xdist_setupnodes` applies them).

Each xdist worker (PYTEST_XDIST_WORKER = gw0, gw1, ...) has its own PostgreSQL test database
(pytest-django's `_gwN` suffix) and, set here, its own Redis databases for the Celery broker and
results and for the cache, and its own audit-checkpoint directory: so one worker's Celery
worker never takes another's tasks, and one worker's `cache.clear()` never wipes another's
throttle counters or locks. The variables are set in each worker's environment when xdist
starts it, before Django reads its settings; the processes the tests start (the Celery worker,
`manage.py`) inherit them. Without xdist nothing changes: DB 0 is the broker's, DB 1 the
cache's (scripts/services.sh).
"""

import os
import re

# Redis' default `databases 16`: DBs 0 and 1 serve the serial run, two more per worker.
REDIS_DATABASES = 16


def _with_db(url: str, number: int) -> str:
    """`redis://host:port/N` with another N."""
    return re.sub(r"(/\d+)?$", f"/{number}", url, count=1)


def worker_environment(worker: str, environ: dict) -> dict:
    """The variables that differ for xdist worker `worker` ("gw3"): Redis DBs, checkpoint dir."""
    index = int(worker.removeprefix("gw"))
    broker_db, cache_db = 2 + 2 * index, 3 + 2 * index
    if cache_db >= REDIS_DATABASES:
        raise RuntimeError(f"xdist worker {worker}: Redis has {REDIS_DATABASES} databases; run fewer workers (-n).")
    changed = {}
    if environ.get("CELERY_BROKER_URL"):
        changed["CELERY_BROKER_URL"] = _with_db(environ["CELERY_BROKER_URL"], broker_db)
    if environ.get("CELERY_RESULT_BACKEND"):
        changed["CELERY_RESULT_BACKEND"] = _with_db(environ["CELERY_RESULT_BACKEND"], broker_db)
    if environ.get("REDIS_URL"):
        changed["REDIS_URL"] = _with_db(environ["REDIS_URL"], cache_db)
    if environ.get("AUDIT_CHECKPOINT_DIR"):
        changed["AUDIT_CHECKPOINT_DIR"] = os.path.join(environ["AUDIT_CHECKPOINT_DIR"], worker)
    return changed
