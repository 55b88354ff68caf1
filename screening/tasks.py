"""Celery tasks: thin, idempotent wrappers around the screening services."""

import logging

from celery import shared_task

from config.locks import cache_lock_release, cache_lock_take
from screening import services

logger = logging.getLogger(__name__)
LOCK = "screening:rescreen"


@shared_task(name="screening.rescreen")
def rescreen(*, force: bool = False) -> dict | None:
    """Nightly from beat (and after an upload in the admin): screens again when a list version was
    imported since the last screening, or when `force`; one at a time (a second is a no-op)."""
    token = cache_lock_take(LOCK, timeout=3600)
    if token is None:
        logger.info("rescreening skipped: another is running")
        return None
    try:
        if not force and not services.rescreen_due():
            return None
        result = services.screen_run()
        return {k: result[k] for k in ("opened", "reopened", "kept", "gone")}
    finally:
        cache_lock_release(LOCK, token)
