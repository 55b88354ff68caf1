"""Celery tasks: thin, idempotent wrappers around the audits services."""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from audits import services
from audits.services.backtest import backtest_run

logger = logging.getLogger(__name__)


@shared_task(name="audits.scan_violations")
def scan_violations(requested_by_id: int | None = None) -> dict | None:
    """Nightly from beat, or started by an auditor. A scan already running makes this a no-op."""
    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    try:
        result = services.scan_run(requested_by=user)
    except services.ScanAlreadyRunning:
        logger.info("violation scan skipped: another scan is running")
        return None
    return {"scan": result.scan.pk, "opened": result.opened, "kept": result.kept, "cleared": result.cleared}


@shared_task(name="audits.send_filing_reminders")
def send_filing_reminders() -> int:
    """Daily; sends each reminder once whatever the number of runs."""
    return services.reminders_send()


@shared_task(name="audits.escalate_overdue_flags")
def escalate_overdue_flags() -> int:
    """Daily; escalates each overdue flag once per level whatever the number of runs."""
    return services.escalations_send()


@shared_task(name="audits.backtest_rule_version")
def backtest_rule_version(version_id: int, requested_by_id: int | None = None) -> dict | None:
    """A draft rule version tried on history (audits.services.backtest); the result is stored on the version."""
    user = get_user_model().objects.filter(pk=requested_by_id).first() if requested_by_id else None
    result = backtest_run(version_id=version_id, actor=user)
    return None if result is None else {"open": result["open_total"], "close": result["close_total"]}
