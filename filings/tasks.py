"""Celery tasks of the filing intake: thin, idempotent wrappers around filings.processing.

The task names keep their "operators." prefix: messages already queued and the beat
schedule (config/celery.py) name them so.
"""

from celery import shared_task

from filings import processing


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
