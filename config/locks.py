"""The cache lock: one holder of a named lock at a time, across processes and hosts (Redis, through
Django's cache). The violation scan (audits.services.scan) and the outflow run (outflows.runs) use it.

A holder takes the lock with a fresh token (``cache.add`` sets the key only if it is absent);
only the holder of that token renews or releases it, and a holder that died frees it when its
timeout lapses. (An operator's import is serialised by a database row lock instead: filings/locks.py.)
"""

import uuid

from django.core.cache import cache


def cache_lock_take(key: str, *, timeout: int) -> str | None:
    """The lock's token, or None while another holder has it."""
    token = uuid.uuid4().hex
    return token if cache.add(key, token, timeout=timeout) else None


def cache_lock_release(key: str, token: str) -> None:
    """Free the lock if ``token`` still holds it (a lapsed lock taken by another is left alone)."""
    if cache.get(key) == token:
        cache.delete(key)


def cache_lock_renew(key: str, token: str, *, timeout: int) -> bool:
    """Give the holder ``timeout`` more seconds; False when ``token`` no longer holds the lock."""
    return cache.get(key) == token and bool(cache.touch(key, timeout))


def cache_lock_held(key: str) -> bool:
    return cache.get(key) is not None
