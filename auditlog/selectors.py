"""Reads of the audit log: the chain check (verify_audit_log adds the signed checkpoints)."""

from auditlog.chain import CONTENT_FIELDS, GENESIS_HASH, ChainBreak, chain_verify
from auditlog.models import AuditChainHead, AuditEvent
from auditlog.services import hashable


def audit_log_verify(*, chunk_size: int = 5000) -> ChainBreak | None:
    """Check the whole hash chain; None when intact, else the first broken event."""
    head = AuditChainHead.objects.filter(pk=1).values("last_event_id", "last_hash").first() or {
        "last_event_id": 0,
        "last_hash": GENESIS_HASH,
    }
    fields = ["id", *CONTENT_FIELDS, "hash"]

    def rows():
        qs = AuditEvent.objects.order_by("id").values(*fields)
        for row in qs.iterator(chunk_size=chunk_size):
            yield hashable(row)

    return chain_verify(rows(), head_last_id=head["last_event_id"], head_last_hash=head["last_hash"])
