"""The audit log's hash chain: what is hashed, and how a chain is checked.

Kept apart from the services so that the writer and `verify_audit_log` share one
definition of an event's content.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

GENESIS_HASH = "0" * 64

# The fields that make an event's content, in the order they are hashed.
CONTENT_FIELDS = (
    "created_at",
    "actor_id",
    "actor_username",
    "ip",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "details",
    "prev_hash",
)


def event_canonical(content: dict) -> str:
    """The canonical JSON of an event's content: sorted keys, no spaces, UTF-8 as is."""
    payload = {name: content.get(name) for name in CONTENT_FIELDS}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON of an event's content.

    `prev_hash` is part of the content, so each event seals the whole chain before it:
    editing, inserting or removing any earlier event breaks every later link.
    """
    return hashlib.sha256(event_canonical(content).encode("utf-8")).hexdigest()


# `prev_hash` sorts last among the content fields, so an event's canonical JSON always ends
# with '"prev_hash":"<64 hex digits>"}': its text before the previous hash (the hash prefix)
# does not depend on the previous hash. The PostgreSQL writer sends that prefix and lets the
# database finish the hash once it holds the chain head:
#     event_hash(content) == sha256(prefix + content["prev_hash"] + HASH_TAIL)
HASH_TAIL = '"}'
assert max(CONTENT_FIELDS) == "prev_hash"


def event_hash_prefix(content: dict) -> str:
    """The canonical JSON of `content` up to (not including) its previous hash."""
    text = event_canonical({**content, "prev_hash": GENESIS_HASH})
    prefix = text[: -len(GENESIS_HASH) - len(HASH_TAIL)]
    if not prefix.endswith(',"prev_hash":"'):  # defensive: the layout above no longer holds
        raise ValueError("prev_hash is not the last key of the canonical JSON")
    return prefix


@dataclass(frozen=True)
class ChainBreak:
    event_id: int | None
    reason: str


def chain_verify(rows: Iterable[dict], *, head_last_id: int, head_last_hash: str) -> ChainBreak | None:
    """Walk events in id order; return the first break, or None when the chain is intact."""
    prev = GENESIS_HASH
    last_id = 0
    for row in rows:
        if row["id"] > head_last_id:
            return ChainBreak(row["id"], "event after the recorded head of the chain (inserted event)")
        if row["prev_hash"] != prev:
            return ChainBreak(row["id"], "prev_hash does not match the previous event (deleted or inserted event)")
        if event_hash(row) != row["hash"]:
            return ChainBreak(row["id"], "content does not match its hash (edited event)")
        prev = row["hash"]
        last_id = row["id"]
    if last_id != head_last_id or prev != head_last_hash:
        return ChainBreak(head_last_id or None, "the chain ends before its recorded head (last events deleted)")
    return None
