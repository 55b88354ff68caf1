"""Celery tasks of the casework: thin, idempotent wrappers around its services."""

from celery import shared_task

from casework.nudges import data_request_nudges


@shared_task(name="casework.data_request_nudges")
def data_request_nudges_daily() -> int:
    """Daily: overdue data requests marked, each nudge e-mailed once whatever the number of runs."""
    return data_request_nudges()
