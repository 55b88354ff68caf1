"""Security events from libraries, written to the audit log: failed logins and lockouts.

django-axes counts failures and locks an account and address out; during a lockout each further
attempt is refused and announced again (user_login_failed, then user_locked_out). The log keeps
one event per real failure and one lockout event per (username, address) and cool-off window, so
a password-guessing run cannot flood it.
"""

import hashlib
import logging
from datetime import timedelta

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver

from auditlog.services import audit_event_record

logger = logging.getLogger(__name__)

DEFAULT_LOCKOUT_WINDOW = timedelta(hours=1)  # when axes locks out until an administrator resets


def _ip(request, ip_address: str | None = None) -> str:
    if ip_address:
        return ip_address
    if request is None:
        return ""
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "")


def _lockout_key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username}\x00{ip}".encode()).hexdigest()[:32]
    return f"audits:lockout-logged:{digest}"  # the key of before auditlog: live windows stay valid


def _refused_during_lockout(request, credentials: dict) -> bool:
    """An attempt refused because the lockout already held: axes counts it, but it is no new failure.

    axes marks the request locked out and, when it counts refused attempts too (its default), has
    counted this one beyond the limit; the attempt that reaches the limit is a real failure.
    Connected after axes's own receiver (auditlog comes after axes in INSTALLED_APPS).
    """
    if request is None or not getattr(request, "axes_locked_out", False):
        return False
    failures = getattr(request, "axes_failures_since_start", None)
    return failures is None or failures > get_failure_limit(request, credentials)


@receiver(user_login_failed, dispatch_uid="auditlog.login_failed")
def record_login_failure(sender, credentials, request=None, **kwargs):
    """One event per failed password login: the username tried and the address, never the password."""
    if _refused_during_lockout(request, credentials):
        return
    username = str(credentials.get("username") or "")[:150]
    audit_event_record(actor=None, action="auth.login_failed", ip=_ip(request), details={"username": username})


@receiver(user_locked_out, dispatch_uid="auditlog.lockout")
def record_lockout(sender, request, username, ip_address, **kwargs):
    """The lockout, once per username, address and cool-off window (axes announces it on every refusal)."""
    username = (username or "")[:150]
    ip = _ip(request, ip_address)
    window = get_cool_off(request) or DEFAULT_LOCKOUT_WINDOW
    try:
        first = cache.add(_lockout_key(username, ip), 1, timeout=int(window.total_seconds()))
    except Exception:  # the cache down: log the lockout again rather than not at all
        logger.warning("lockout de-duplication unavailable (cache); logging this lockout", exc_info=True)
        first = True
    if first:
        audit_event_record(actor=None, action="auth.locked_out", ip=ip, details={"username": username})


@receiver(post_delete, sender=AccessAttempt, dispatch_uid="auditlog.lockout_reset")
def forget_lockout(sender, instance, **kwargs):
    """A lockout reset (by an administrator, or expired and cleaned) makes the next lockout news again."""
    try:
        cache.delete(_lockout_key((instance.username or "")[:150], instance.ip_address or ""))
    except Exception:  # the cache down: the next lockout's event may wait for the window
        logger.warning("could not clear the lockout de-duplication key", exc_info=True)
