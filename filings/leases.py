"""Work leases: long work (a filing's import, an outflow run) is done by one live worker at a time.

Why: Redis redelivers a message only after the visibility timeout, which is longer than
any task may run (config/settings.py), so a dead worker's work must come back another
way. The process at work holds a lease on the object and renews it from a heartbeat
thread; a sweeper (every minute, config/celery.py) re-sends work whose lease lapsed or
that was sent and never leased. A duplicate delivery finds the lease live and leaves at
once, instead of waiting for the row lock in a second worker slot.

Times come from the database's clock (one clock for every host). Leases live in their own
table (operators.models.WorkLease): the filing's row is locked for the whole import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Now

from operators.models import WorkLease

logger = logging.getLogger(__name__)

FILING = "filing"
OUTFLOW_RUN = "outflow_run"


@dataclass
class Lease:
    kind: str
    object_id: int
    holder: str
    attempts: int


def _in(seconds: float) -> ExpressionWrapper:
    """The database's now() plus `seconds` (negative: before now)."""
    return ExpressionWrapper(Now() + Value(timedelta(seconds=seconds)), output_field=DateTimeField())


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _holder_dead(holder: str) -> bool:
    """True if the holder was a process on this host that has exited (a killed prefork child):
    its work may be taken over at once. A process elsewhere is judged by its lease's expiry."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_take(*, kind: str, object_id: int) -> Lease | None:
    """Take the lease on one object for WORK_LEASE_SECONDS; None while another live process holds it.

    Counts an attempt each time it is taken (attempts: how many workers started this work).
    """
    holder = _holder()
    with transaction.atomic():
        lease, _ = WorkLease.objects.select_for_update().get_or_create(kind=kind, object_id=object_id)
        live = WorkLease.objects.filter(pk=lease.pk, expires_at__gt=Now()).exists()
        if live and not _holder_dead(lease.holder):
            return None
        lease.holder = holder
        lease.attempts += 1
        lease.expires_at = _in(settings.WORK_LEASE_SECONDS)
        lease.save(update_fields=["holder", "attempts", "expires_at"])
    return Lease(kind=kind, object_id=object_id, holder=holder, attempts=lease.attempts)


def lease_renew(lease: Lease) -> bool:
    """Extend the lease by WORK_LEASE_SECONDS from now; False if it is no longer ours."""
    return bool(
        WorkLease.objects.filter(kind=lease.kind, object_id=lease.object_id, holder=lease.holder).update(
            expires_at=_in(settings.WORK_LEASE_SECONDS)
        )
    )


def lease_release(lease: Lease, *, done: bool) -> None:
    """Give the lease up: forgotten when the work is done, else kept (with its attempts) for a re-send."""
    mine = WorkLease.objects.filter(kind=lease.kind, object_id=lease.object_id, holder=lease.holder)
    if done:
        mine.delete()
    else:
        mine.update(expires_at=None, holder="")


def _heartbeat(lease: Lease, stop: threading.Event, also: Callable[[], None] | None) -> None:
    """Renew until stopped, on this thread's own database connection; never raises.

    `also` is called at once too: a lock it renews lapses with the lease from the start.
    """
    first = True
    try:
        while first or not stop.wait(settings.WORK_LEASE_RENEW_SECONDS):
            try:
                if not first and not lease_renew(lease):
                    logger.warning("%s %s: lease taken over by another worker", lease.kind, lease.object_id)
                if also is not None:
                    also()
            except Exception:  # a database or Redis hiccup: try again at the next beat
                logger.warning("%s %s: lease not renewed", lease.kind, lease.object_id, exc_info=True)
            first = False
    finally:
        connections.close_all()  # this thread's connections only


@contextlib.contextmanager
def lease_held(*, kind: str, object_id: int, also: Callable[[], None] | None = None) -> Iterator[Lease | None]:
    """Hold the lease while the block runs: None if another live process holds it (do nothing then).

    A heartbeat thread renews it (and calls `also`, e.g. to renew a cache lock) until the
    block ends; it is then forgotten, or kept for a re-send if the block raised. Inside a
    transaction (tests) or on SQLite (the embedded default: one process, no sweeper) there
    is no heartbeat: no other connection could see or renew the lease.
    """
    lease = lease_take(kind=kind, object_id=object_id)
    if lease is None:
        yield None
        return
    stop = threading.Event()
    beat = None
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        beat = threading.Thread(target=_heartbeat, args=(lease, stop, also), name=f"lease-{kind}", daemon=True)
        beat.start()
    done = False
    try:
        yield lease
        done = True
    finally:
        stop.set()
        if beat is not None:
            beat.join(timeout=30)
        lease_release(lease, done=done)


def leases_lapsed(*, kind: str, pending: QuerySet, sent_field: str) -> list[int]:
    """Ids of `pending` (unfinished work) that nobody is doing, to re-send; marks them re-sent.

    Due: a lease was taken and has lapsed (its worker died), or none was ever taken
    WORK_RESEND_AFTER_SECONDS after `sent_field` (its message was lost). Never one with a
    live lease, nor one re-sent within WORK_RESEND_AFTER_SECONDS (it may still be queued).
    """
    resend_after = settings.WORK_RESEND_AFTER_SECONDS
    leases = WorkLease.objects.filter(kind=kind, object_id=OuterRef("pk"))
    due = (
        pending.exclude(Exists(leases.filter(expires_at__gt=Now())))
        .exclude(Exists(leases.filter(resent_at__gt=_in(-resend_after))))
        .filter(Q(Exists(leases.filter(attempts__gt=0))) | Q(**{f"{sent_field}__lt": _in(-resend_after)}))
    )
    ids = list(due.values_list("pk", flat=True))
    for object_id in ids:
        WorkLease.objects.update_or_create(kind=kind, object_id=object_id, defaults={"resent_at": Now()})
    return ids


def lease_attempts(*, kind: str, object_id: int) -> int:
    """How many times this work was started (0 if never or if it is done)."""
    return WorkLease.objects.filter(kind=kind, object_id=object_id).values_list("attempts", flat=True).first() or 0
