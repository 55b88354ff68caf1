"""Seed the review deadlines per severity (working days on the Belarus calendar; supervisors edit them
in the admin) and give every existing flag its due date: the deadline of its severity counted from the
day it opened (Europe/Minsk)."""

from django.db import migrations
from django.utils import timezone

from operators.calendar import working_days_after

# severity: (working days to decide, escalate when overdue by more than this many working days)
DEFAULTS = {"critical": (3, 1), "high": (10, 3), "medium": (20, 5), "low": (30, 5)}


def seed(apps, schema_editor):
    SeverityDeadline = apps.get_model("audits", "SeverityDeadline")
    Flag = apps.get_model("audits", "Flag")
    for severity, (days, escalate) in DEFAULTS.items():
        SeverityDeadline.objects.get_or_create(
            severity=severity, defaults={"working_days": days, "escalate_after_days": escalate}
        )
    days_by_severity = dict(SeverityDeadline.objects.values_list("severity", "working_days"))
    batch = []
    for flag in Flag.objects.filter(due_date__isnull=True).only("id", "severity", "opened_at").iterator(2000):
        opened_on = timezone.localtime(flag.opened_at).date()
        flag.due_date = working_days_after(opened_on, days_by_severity.get(flag.severity, 20))
        batch.append(flag)
        if len(batch) >= 2000:
            Flag.objects.bulk_update(batch, ["due_date"])
            batch = []
    if batch:
        Flag.objects.bulk_update(batch, ["due_date"])


def unseed(apps, schema_editor):
    apps.get_model("audits", "SeverityDeadline").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0009_deadlines_four_eyes_notifications")]

    operations = [migrations.RunPython(seed, unseed)]
