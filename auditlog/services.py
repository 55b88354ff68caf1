"""The audit log's writer: one function appends events to the hash chain (DESIGN section 7).

`audit_event_record` is what every app calls; `event_content` and `events_append` let a
caller write many events in one append (the violation scan). `jsonable` is the form a value
takes in a JSON column, which the hash must cover.
"""

import hashlib
import json
from datetime import UTC
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from auditlog.chain import GENESIS_HASH, HASH_TAIL, event_hash, event_hash_prefix
from auditlog.models import AuditChainHead, AuditEvent

User = AbstractBaseUser | AnonymousUser | None


def jsonable(value: Any) -> Any:
    """What the JSON column will give back when read (dates, decimals, UUIDs as strings),
    so that the hash computed now matches the hash recomputed by verify_audit_log."""
    if value is None:
        return None
    text = json.dumps(value, cls=DjangoJSONEncoder)
    # json.dumps writes NUL as \u0000: without one, there is nothing for _without_nul to replace.
    return _without_nul(json.loads(text)) if "\\u0000" in text else json.loads(text)


def _without_nul(value: Any) -> Any:
    # PostgreSQL refuses NUL in text and jsonb; a hostile URL or upload name must not turn a
    # logged refusal into a 500. NUL becomes U+FFFD (the replacement character).
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def event_content(
    *, actor: User, action: str, obj: models.Model | None, ip: str | None, before, after, details
) -> dict:
    """One event's content (not yet chained): for `events_append`, or `audit_event_record` for one."""
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return {
        "created_at": timezone.now(),
        "actor_id": actor.pk if authenticated else None,
        "actor_username": actor.get_username()[:150] if authenticated else "",
        "ip": (ip or "")[:45],
        "action": action[:64],
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None and obj.pk is not None else "",
        "object_repr": _without_nul(str(obj)[:255]) if obj is not None else "",
        "before": jsonable(before),
        "after": jsonable(after),
        "details": jsonable(details),
    }


def hashable(content: dict) -> dict:
    """An event's content as hashed: the time as a UTC ISO string with microseconds."""
    result = dict(content)
    result["created_at"] = content["created_at"].astimezone(UTC).isoformat()
    return result


def _chain_head_locked() -> AuditChainHead:
    """The chain head, locked FOR UPDATE until the transaction ends: appends are serialised."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=1, last_event_id=0, last_hash=GENESIS_HASH)
        except IntegrityError:
            pass  # another writer created it first
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def events_append(contents: list[dict]) -> list[AuditEvent]:
    """Chain and append events made by `event_content`, in order, in one append (joins the caller's transaction)."""
    if not contents:
        return []
    if connection.vendor == "postgresql":
        return _events_append_sql(contents)
    return _events_append_orm(contents)


def _events_append_orm(contents: list[dict]) -> list[AuditEvent]:
    """Any database: lock the head, chain in Python, one INSERT, move the head (five statements)."""
    with transaction.atomic():
        head = _chain_head_locked()
        prev = head.last_hash
        events = []
        for content in contents:
            content = {**content, "prev_hash": prev}
            digest = event_hash(hashable(content))
            events.append(AuditEvent(**content, hash=digest))
            prev = digest
        # One INSERT; ids come from the sequence while the head is locked, so id order is chain order.
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        if events[-1].pk is None:  # backends that do not return ids from bulk inserts
            events = list(AuditEvent.objects.filter(hash__in=[e.hash for e in events]).order_by("id"))
        head.last_event_id = events[-1].pk
        head.last_hash = prev
        head.save(update_fields=["last_event_id", "last_hash"])
    return events


_APPEND_SQL = "SELECT event_id, event_prev_hash, event_hash FROM audits_events_append(%s::jsonb)"


def _events_append_sql(contents: list[dict]) -> list[AuditEvent]:
    """PostgreSQL: one statement, the function audits_events_append (audits migration 0005).

    It locks the head, chains, inserts and moves the head in the caller's transaction;
    outside one (autocommit, as API requests run) the events are committed when it returns.
    It replaces five round trips (BEGIN, SELECT ... FOR UPDATE, INSERT, UPDATE, COMMIT) and four
    ORM query compilations: about 2 ms of CPU per event, on every API pull, down to about 0.4.
    """
    # created_at goes as the very text that is hashed (UTC, microseconds), read back as timestamptz.
    batch = [hashable(content) for content in contents]
    for hashed in batch:
        hashed["hash_prefix"] = event_hash_prefix(hashed)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, [json.dumps(batch)])
        rows = cursor.fetchall()
    events = []
    for content, hashed, (pk, prev, digest) in zip(contents, batch, rows, strict=True):
        prefix = hashed["hash_prefix"]
        # The database hashed the same bytes event_hash hashes. A difference (it would be a bug)
        # would show only as a break at the next verify_audit_log: fail loudly now instead.
        if hashlib.sha256(f"{prefix}{prev}{HASH_TAIL}".encode()).hexdigest() != digest:
            raise RuntimeError(f"audit event #{pk}: PostgreSQL's hash differs from event_hash")
        event = AuditEvent(id=pk, **content, prev_hash=prev, hash=digest)
        event._state.adding = False
        event._state.db = connection.alias
        events.append(event)
    return events


def audit_event_record(
    *,
    actor: User,
    action: str,
    obj: models.Model | None = None,
    ip: str | None = None,
    before: Any = None,
    after: Any = None,
    details: Any = None,
) -> AuditEvent:
    """Append one event to the audit log (transactional; joins the caller's transaction).

    For every auditor or supervisor action, export and API data pull. `before`/`after`/`details`
    must be JSON-serialisable (DjangoJSONEncoder: dates, decimals allowed).
    """
    content = event_content(actor=actor, action=action, obj=obj, ip=ip, before=before, after=after, details=details)
    return events_append([content])[0]
