"""/healthz: is the portal able to serve? JSON, 200 or 503, for load balancers and compose."""

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL or settings.CELERY_TASK_ALWAYS_EAGER:
        return "inline"
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
    client.ping()
    return "ok"


@require_GET
def healthz(request):
    """Anonymous: tells only up/down per part, nothing about the data."""
    checks: dict[str, str] = {}
    healthy = True
    started = time.monotonic()
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception:  # noqa: BLE001 - any failure of a part means "unavailable"
            checks[name] = "unavailable"
            healthy = False
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": checks,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if healthy else 503)
