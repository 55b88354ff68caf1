"""Periodic outflow work, for the lead to merge into settings.CELERY_BEAT_SCHEDULE (one beat process)."""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # 01:30 Minsk (CELERY_TIMEZONE): the day's transfer registers are in, the
    # database is quiet, and the run (seconds even at national scale) is done
    # well before the violation scan at 02:30 reads it for HIGH_NON_RETURN and
    # before auditors open the dashboards in the morning. as_of is the task's
    # start, so each night's run covers everything filed until then.
    "outflows-nightly-compute": {
        "task": "outflows.compute",
        "schedule": crontab(hour=1, minute=30),
    },
}
