"""Celery task of the audit log: thin, as every task here."""

from celery import shared_task

from auditlog.checkpoints import checkpoint_write


# Its name from before auditlog, kept: beat entries, queued messages and the README know it by it.
@shared_task(name="audits.checkpoint_audit_log")
def checkpoint_audit_log() -> dict:
    """Every 10 minutes from beat: anchor the audit log's head in a signed file outside the database."""
    checkpoint = checkpoint_write(source="beat")
    return {"last_event_id": checkpoint.last_event_id, "count": checkpoint.count}
