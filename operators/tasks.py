"""Celery tasks of the filing intake: thin, idempotent wrappers around operators.services."""

from celery import shared_task

from operators import services


@shared_task(name="operators.process_filing")
def process_filing(filing_id: int) -> None:
    """Validate and import one filing. Safe to run twice (acks_late redelivery): see filing_process."""
    services.filing_process(filing_id=filing_id)
