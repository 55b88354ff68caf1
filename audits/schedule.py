"""Periodic audits work, for the lead to merge into settings.CELERY_BEAT_SCHEDULE (one beat process)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # 02:30 Minsk: after the day's filings are in and the nightly outflow run (if scheduled
    # earlier) has finished, so auditors find fresh flags at 09:00; few users are online.
    "audits-nightly-scan": {
        "task": "audits.scan_violations",
        "schedule": crontab(hour=2, minute=30),
    },
    # 08:00 Minsk on every day: reminders reach operator staff at the start of their working
    # day; "the day after a missed due date" includes weekends, the service skips sent ones.
    "audits-daily-reminders": {
        "task": "audits.send_filing_reminders",
        "schedule": crontab(hour=8, minute=0),
    },
}
