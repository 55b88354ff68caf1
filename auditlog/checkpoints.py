"""Signed checkpoints of the audit log's hash chain, kept outside the database.

The hash chain (auditlog/chain.py) shows an edited event, but whoever can write the
database as a superuser can delete its last events and move the head back, delete
everything, or edit an event and re-seal every later hash: the chain alone verifies
again. A checkpoint anchors the chain outside the database: the last event's id and
hash and the number of events up to it, signed with HMAC-SHA256 and appended as one
JSON line to `AUDIT_CHECKPOINT_DIR/audit-checkpoints-YYYY-MM.jsonl` (UTC month; lines
are only ever appended). Beat writes one every 10 minutes (task
`audits.checkpoint_audit_log`), `manage.py backup` one before its dump.

`verify_audit_log` then checks, besides the chain, that the event at each checkpoint's
position (its count) is still the checkpointed id with the checkpointed hash: a deleted
tail or a deleted log is shorter than the checkpoint, a re-sealed chain has another
hash there. A line whose signature does not match is itself reported.

Key: `AUDIT_CHECKPOINT_KEY`; unset (embedded default, tests), a key derived from
SECRET_KEY with a salt of its own. docker-compose requires an explicit key, so that
rotating SECRET_KEY does not orphan the checkpoints already written.
"""

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from auditlog.chain import CONTENT_FIELDS, GENESIS_HASH, ChainBreak, chain_verify, event_hash
from auditlog.models import AuditChainHead, AuditEvent
from auditlog.services import hashable

VERSION = 1
FILE_GLOB = "audit-checkpoints-*.jsonl"
_KEY_SALT = b"portal.audits.checkpoint-key.v1"  # its name from before auditlog: a new salt orphans every checkpoint
_FIELDS = ["id", *CONTENT_FIELDS, "hash"]


def checkpoint_key() -> bytes:
    """AUDIT_CHECKPOINT_KEY, else HMAC-SHA256(SECRET_KEY, a salt used for nothing else)."""
    explicit = getattr(settings, "AUDIT_CHECKPOINT_KEY", "")
    if explicit:
        return explicit.encode("utf-8")
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), _KEY_SALT, hashlib.sha256).digest()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]


def _signature(payload: dict, key: bytes) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_dir() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


@dataclass(frozen=True)
class Checkpoint:
    at: str
    source: str
    last_event_id: int
    last_hash: str
    count: int
    where: str = ""  # file:line, for messages

    def describe(self) -> str:
        return f"checkpoint of {self.at} ({self.where})"


def checkpoints_read(*, directory: Path | None = None) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in the directory, oldest file first; and the lines that are not valid ones."""
    directory = directory or checkpoint_dir()
    key = checkpoint_key()
    found: list[Checkpoint] = []
    problems: list[str] = []
    if not directory.is_dir():
        return found, problems
    for path in sorted(directory.glob(FILE_GLOB)):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                where = f"{path.name}:{number}"
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    signature = record.pop("sig")
                    valid = hmac.compare_digest(signature, _signature(record, key))
                    checkpoint = Checkpoint(
                        at=str(record["at"]),
                        source=str(record["source"]),
                        last_event_id=int(record["last_event_id"]),
                        last_hash=str(record["last_hash"]),
                        count=int(record["count"]),
                        where=where,
                    )
                except (ValueError, KeyError, TypeError, AttributeError):
                    problems.append(f"{where}: unreadable checkpoint line")
                    continue
                if not valid:
                    reason = "another key" if record.get("key_id") != _key_id(key) else "changed after signing"
                    problems.append(f"{where}: checkpoint signature does not match ({reason})")
                    continue
                found.append(checkpoint)
    return found, problems


class CheckpointRefused(RuntimeError):
    """The chain since the last checkpoint does not verify: anchoring it would hide the tampering."""


def _rows(queryset, chunk_size: int) -> Iterator[dict]:
    for row in queryset.order_by("id").values(*_FIELDS).iterator(chunk_size=chunk_size):
        yield hashable(row)


def checkpoint_write(
    *, source: str, directory: Path | None = None, now: datetime | None = None, chunk_size: int = 5000
) -> Checkpoint:
    """Anchor the chain's current end: verify the events since the latest checkpoint, append a signed line.

    Incremental: the checkpointed event must still carry its hash, and every later event must
    link to the one before it and match its own hash (the first checkpoint walks the whole log).
    Raises CheckpointRefused rather than anchor a chain that was changed since.
    """
    directory = directory or checkpoint_dir()
    valid, _ = checkpoints_read(directory=directory)
    base = max(valid, key=lambda c: (c.count, c.last_event_id), default=None)
    prev_hash, count, after_id = GENESIS_HASH, 0, 0
    if base is not None and base.count:
        stored = AuditEvent.objects.filter(pk=base.last_event_id).values_list("hash", flat=True).first()
        if stored != base.last_hash:
            raise CheckpointRefused(
                f"event #{base.last_event_id} of the {base.describe()} is "
                f"{'gone' if stored is None else 'changed'}: run verify_audit_log"
            )
        prev_hash, count, after_id = base.last_hash, base.count, base.last_event_id
    last_id = after_id
    for row in _rows(AuditEvent.objects.filter(pk__gt=after_id), chunk_size):
        if row["prev_hash"] != prev_hash or event_hash(row) != row["hash"]:
            raise CheckpointRefused(f"the chain is broken at event #{row['id']}: run verify_audit_log")
        prev_hash, count, last_id = row["hash"], count + 1, row["id"]
    key = checkpoint_key()
    when = (now or timezone.now()).astimezone(UTC)
    record = {
        "v": VERSION,
        "at": when.isoformat(),
        "source": source,
        "last_event_id": last_id,
        "last_hash": prev_hash,
        "count": count,
        "key_id": _key_id(key),
    }
    line = json.dumps({**record, "sig": _signature(record, key)}, sort_keys=True, separators=(",", ":")) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-checkpoints-{when:%Y-%m}.jsonl"
    # Append only (O_APPEND, one write of a whole line) under an exclusive lock: beat and a
    # backup may write at once. fsync: a checkpoint must outlive a crash of this host.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(
        at=record["at"], source=source, last_event_id=last_id, last_hash=prev_hash, count=count, where=path.name
    )


@dataclass
class LogCheck:
    """What verify_audit_log found: the chain's first break, the checkpoint problems, the counts."""

    events: int = 0
    chain_break: ChainBreak | None = None
    problems: list[str] = field(default_factory=list)
    checkpoints: int = 0
    latest: Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return self.chain_break is None and not self.problems


def audit_log_check(*, directory: Path | None = None, chunk_size: int = 5000) -> LogCheck:
    """The whole chain (auditlog.chain.chain_verify) and the chain against every valid checkpoint, in one pass."""
    checkpoints, problems = checkpoints_read(directory=directory)
    result = LogCheck(problems=problems, checkpoints=len(checkpoints))
    result.latest = max(checkpoints, key=lambda c: (c.count, c.at), default=None)
    wanted = {c.count for c in checkpoints if c.count}
    seen: dict[int, tuple[int, str]] = {}

    def watched(rows: Iterator[dict]) -> Iterator[dict]:
        for row in rows:
            result.events += 1
            if result.events in wanted:
                seen[result.events] = (row["id"], row["hash"])
            yield row

    head = AuditChainHead.objects.filter(pk=1).values("last_event_id", "last_hash").first() or {
        "last_event_id": 0,
        "last_hash": GENESIS_HASH,
    }
    rows = watched(_rows(AuditEvent.objects.all(), chunk_size))
    result.chain_break = chain_verify(rows, head_last_id=head["last_event_id"], head_last_hash=head["last_hash"])
    for _ in rows:  # a break stops the chain walk; the checkpoints still need every position
        pass
    reported = set()
    for cp in sorted(checkpoints, key=lambda c: (c.count, c.at)):
        if not cp.count or (cp.count, cp.last_event_id, cp.last_hash) in reported:
            continue
        reported.add((cp.count, cp.last_event_id, cp.last_hash))
        message = _checkpoint_mismatch(cp, seen.get(cp.count), result.events)
        if message:
            result.problems.append(message)
    return result


def _checkpoint_mismatch(cp: Checkpoint, found: tuple[int, str] | None, events: int) -> str | None:
    anchored = f"{cp.describe()} anchors event #{cp.last_event_id} as event {cp.count} of the log"
    if found is None:
        return f"{anchored}, but the log holds only {events} events (events deleted)"
    event_id, digest = found
    if event_id != cp.last_event_id:
        return f"{anchored}, but event {cp.count} is #{event_id} (events deleted or inserted before it)"
    if digest != cp.last_hash:
        return f"{anchored}: its hash changed (an event at or before it was edited and the chain re-sealed)"
    return None
