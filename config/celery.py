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
    # 02:15: counterparties screened again when a list version was imported (or the registry changed)
    # since the last screening; before the 02:30 scan, which reads the confirmed sanctioned platforms.
    "screening-nightly-rescreen": {"task": "screening.rescreen", "schedule": crontab(hour=2, minute=15)},
    # 02:30: after the nightly outflow run, so auditors find fresh flags at 09:00; few users online.
    "audits-nightly-scan": {"task": "audits.scan_violations", "schedule": crontab(hour=2, minute=30)},
    # 08:00 every day: reminders reach operator staff at the start of their working day;
    # "the day after a missed due date" includes weekends, and the service skips sent ones.
    "audits-daily-reminders": {"task": "audits.send_filing_reminders", "schedule": crontab(hour=8, minute=0)},
    # 07:45 every day: flags overdue by more than their severity's working days reach the supervisors
    # (notification + e-mail) before the working day starts; the service escalates each level once.
    "audits-daily-escalations": {"task": "audits.escalate_overdue_flags", "schedule": crontab(hour=7, minute=45)},
    # 08:05 every day: data requests past due become overdue; operators are e-mailed once when one falls due
    # soon and once when it is overdue (the reminders' recipients and once-only rule, casework/nudges.py).
    "casework-daily-nudges": {"task": "casework.data_request_nudges", "schedule": crontab(hour=8, minute=5)},
    # Every minute: a filing no worker is importing is re-sent: its worker died (its work lease
    # lapsed a minute after the last renewal) or its message was lost (Redis restarted without
    # it, or down when the upload was committed; re-sent 90 s after upload). With the minute's
    # lease, a killed worker's filing starts again within about two minutes (filings/leases.py).
    "operators-requeue-stuck-filings": {"task": "operators.requeue_stuck_filings", "schedule": crontab()},
    # Every minute, the same for outflow runs (queued from the UI or API, or computing when a worker died).
    "outflows-requeue-stuck-runs": {"task": "outflows.requeue_stuck_runs", "schedule": crontab()},
    # Every 10 minutes: the audit log's head is anchored in a signed file outside the database,
    # so a superuser who deletes or re-seals events is caught by verify_audit_log; at most the
    # last 10 minutes are unanchored, and each run only hashes the events since the last one.
    "audits-checkpoint-audit-log": {"task": "audits.checkpoint_audit_log", "schedule": crontab(minute="*/10")},
    # Every 10 minutes: files kept after a dry run (an hour, for "Submit this file") are removed once expired.
    "filings-purge-kept-uploads": {"task": "filings.purge_kept_uploads", "schedule": crontab(minute="*/10")},
    # Every 30 s: events for agencies' webhooks (finished runs, referrals, accepted filings) become
    # deliveries, and deliveries whose retry time has come are sent (webhooks/services.py).
    "webhooks-collect": {"task": "webhooks.collect", "schedule": 30.0},
}


@app.task(name="config.ping")
def ping(marker: str) -> str:
    """A trivial task: proves a worker is alive (used by the tests)."""
    return marker
