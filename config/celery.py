"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# All periodic work, in one reviewed place (one beat process only). Times are Europe/Minsk.
app.conf.beat_schedule = {
    # 01:30: the day's transfer registers are in and the database is quiet; the run
    # (seconds even at national scale) is done well before the violation scan reads it
    # for HIGH_NON_RETURN and before auditors open the dashboard in the morning.
    "outflows-nightly-compute": {"task": "outflows.compute", "schedule": crontab(hour=1, minute=30)},
    # 02:30: after the nightly outflow run, so auditors find fresh flags at 09:00; few users online.
    "audits-nightly-scan": {"task": "audits.scan_violations", "schedule": crontab(hour=2, minute=30)},
    # 08:00 every day: reminders reach operator staff at the start of their working day;
    # "the day after a missed due date" includes weekends, and the service skips sent ones.
    "audits-daily-reminders": {"task": "audits.send_filing_reminders", "schedule": crontab(hour=8, minute=0)},
    # Every 5 minutes: a filing whose task was lost (Redis restart, killed worker) is
    # re-sent after 10 minutes, so none stays "received" for ever.
    "operators-requeue-stuck-filings": {"task": "operators.requeue_stuck_filings", "schedule": crontab(minute="*/5")},
    # Every 5 minutes, the same for outflow runs requested from the UI or API.
    "outflows-requeue-stuck-runs": {"task": "outflows.requeue_stuck_runs", "schedule": crontab(minute="*/5")},
}


@app.task(name="config.ping")
def ping(marker: str) -> str:
    """A trivial task: proves a worker is alive (used by the tests)."""
    return marker
