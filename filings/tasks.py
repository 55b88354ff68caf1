"""Celery tasks of the filing intake: thin, idempotent wrappers around filings.processing.

The task names keep their "operators." prefix: messages already queued and the beat
schedule (config/celery.py) name them so.
"""

from celery import shared_task

from filings import processing
from filings.kept_purge import kept_uploads_purge


@shared_task(name="operators.process_filing")
def process_filing(filing_id: int) -> None:
    """Validate and import one filing. Safe to run twice (acks_late redelivery): see filing_process."""
    processing.filing_process(filing_id=filing_id)


@shared_task(name="operators.requeue_stuck_filings")
def requeue_stuck_filings() -> int:
    """Periodic sweeper: re-send filings whose processing task was lost. Returns how many."""
    stuck = processing.filings_stuck()
    for filing_id in stuck:
        process_filing.delay(filing_id)
    return len(stuck)


@shared_task(name="filings.purge_kept_uploads")
def purge_kept_uploads() -> int:
    """Periodic: remove the files dry runs kept that have expired (filings/kept.py). Returns how many."""
    return kept_uploads_purge()
