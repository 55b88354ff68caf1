"""Review deadlines (issue 18, item 1): a flag's due date by its severity on the Belarus calendar, the
queue's deadline filters, the supervisors' deadlines in the admin, and the daily escalation of overdue
flags, once per flag and level whatever the number of runs."""

import importlib
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from auditlog.models import AuditEvent
from auditlog.selectors import audit_log_verify
from audits.models import Flag, FlagEscalation, FlagStatus, Notification, NotificationKind, SeverityDeadline
from audits.services import escalations_send, flag_due_date, flag_reopen, scan_run
from audits.services.deadlines import escalation_level, week_end
from config.celery import app as celery_app
from operators.calendar import working_days_after, working_days_between
from tests.audits import helpers as h


def test_working_days_skip_weekends_and_belarusian_holidays():
    # Friday 20 June 2025 + 10 working days: 3 July (Independence Day) and 4 July 2025 (a day off moved
    # to Saturday 12 July) are not working days.
    assert working_days_after(date(2025, 6, 20), 10) == date(2025, 7, 8)
    assert working_days_after(date(2025, 5, 8), 1) == date(2025, 5, 12)  # 9 May, then the weekend
    assert working_days_between(date(2025, 7, 7), date(2025, 7, 7)) == 0
    assert working_days_between(date(2025, 7, 4), date(2025, 7, 7)) == 1  # Saturday and Sunday do not count
    assert working_days_between(date(2025, 7, 7), date(2025, 7, 1)) == 0


def test_escalation_levels_step_by_n_working_days():
    due = date(2025, 7, 7)  # a Monday
    assert escalation_level(due_date=due, today=date(2025, 7, 10), escalate_after_days=3) == (0, 3)
    assert escalation_level(due_date=due, today=date(2025, 7, 11), escalate_after_days=3) == (1, 4)
    assert escalation_level(due_date=due, today=date(2025, 7, 15), escalate_after_days=3) == (1, 6)
    assert escalation_level(due_date=due, today=date(2025, 7, 16), escalate_after_days=3) == (2, 7)
    assert week_end(date(2025, 7, 9)) == date(2025, 7, 13)


def test_the_daily_task_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert "audits.escalate_overdue_flags" in tasks
    import audits.tasks  # noqa: F401 - registers the task

    assert "audits.escalate_overdue_flags" in celery_app.tasks


@pytest.fixture
def op(db):
    return h.operator()


@pytest.fixture
def flag(op):
    h.file_everything(op, until=date(2025, 5, 1))
    scan_run(now=h.NOW)
    return Flag.objects.get(operator=op, rule__code="MISSING_FILING")


@pytest.mark.django_db
def test_seeded_deadlines_are_the_issue_defaults():
    assert dict(SeverityDeadline.objects.values_list("severity", "working_days")) == {
        "critical": 3,
        "high": 10,
        "medium": 20,
        "low": 30,
    }


@pytest.mark.django_db
def test_a_new_flag_is_due_by_its_severity_and_a_supervisor_change_applies_to_new_flags(flag):
    assert flag.severity == "high"
    assert flag.due_date == date(2025, 7, 8)  # 10 working days from Friday 20 June 2025
    SeverityDeadline.objects.filter(severity="high").update(working_days=2)
    assert flag_due_date(severity="high", opened_on=date(2025, 6, 20)) == date(2025, 6, 24)
    flag.refresh_from_db()
    assert flag.due_date == date(2025, 7, 8)  # an open flag keeps its date


@pytest.mark.django_db
def test_a_reopened_flag_gets_a_new_due_date(flag):
    auditor = h.user("aud", group="auditors")
    Flag.objects.filter(pk=flag.pk).update(severity="medium", status=FlagStatus.CONFIRMED)
    flag = flag_reopen(flag=flag, actor=auditor, reason="new facts")
    assert flag.due_date == flag_due_date(severity="medium", opened_on=timezone.localdate())


@pytest.mark.django_db
def test_the_data_migration_gives_existing_flags_their_due_date(flag):
    Flag.objects.filter(pk=flag.pk).update(due_date=None)
    SeverityDeadline.objects.all().delete()
    migration = importlib.import_module("audits.migrations.0010_seed_deadlines_and_flag_due_dates")
    migration.seed(apps, None)
    flag.refresh_from_db()
    opened_on = timezone.localdate(flag.opened_at)
    assert flag.due_date == working_days_after(opened_on, 10)
    assert SeverityDeadline.objects.count() == 4


@pytest.mark.django_db
def test_overdue_flag_is_escalated_once_per_level_however_often_the_job_runs(flag):
    sup = h.user("sup", group="supervisors")
    sup2 = h.user("sup2", group="supervisors")
    h.user("aud", group="auditors")  # auditors are not escalated to
    due = flag.due_date  # Tuesday 8 July 2025; high: escalated when overdue by more than 3 working days
    assert escalations_send(today=due + timedelta(days=3)) == 0  # 3 working days: not yet
    day = date(2025, 7, 14)  # 4 working days overdue: level 1
    assert escalations_send(today=day) == 1
    assert escalations_send(today=day) == 0  # the second run does nothing
    assert escalations_send(today=day + timedelta(days=1)) == 0  # still level 1
    escalation = FlagEscalation.objects.get()
    assert (escalation.flag_id, escalation.level, escalation.overdue_days) == (flag.pk, 1, 4)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([sup.email, sup2.email])
    assert f"#{flag.pk}" in mail.outbox[0].subject
    notes = Notification.objects.filter(kind=NotificationKind.ESCALATION, flag=flag)
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["sup", "sup2"]
    events = AuditEvent.objects.filter(action="flag.escalated", object_id=str(flag.pk))
    assert events.count() == 1
    assert events.get().details["level"] == 1
    # Four more working days: level 2, once.
    assert escalations_send(today=date(2025, 7, 17)) == 1
    assert escalations_send(today=date(2025, 7, 17)) == 0
    assert list(FlagEscalation.objects.order_by("level").values_list("level", flat=True)) == [1, 2]
    assert len(mail.outbox) == 2
    assert audit_log_verify() is None


@pytest.mark.django_db
def test_decided_flags_are_not_escalated(flag):
    h.user("sup", group="supervisors")
    Flag.objects.filter(pk=flag.pk).update(status=FlagStatus.DISMISSED)
    assert escalations_send(today=date(2025, 8, 1)) == 0
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_unique_key_refuses_a_second_escalation_at_the_same_level(flag):
    FlagEscalation.objects.create(flag=flag, level=1, due_date=flag.due_date, overdue_days=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlagEscalation.objects.create(flag=flag, level=1, due_date=flag.due_date, overdue_days=5)


@pytest.mark.django_db
def test_queue_filters_overdue_due_this_week_and_mine_and_shows_the_due_date(client, flag, op, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    auditor = h.user("aud", group="auditors")
    client.force_login(auditor)
    other = h.operator()
    late = Flag.objects.create(
        operator=other,
        rule=flag.rule,
        fingerprint="f" * 64,
        subject="late",
        severity="high",
        due_date=timezone.localdate() - timedelta(days=10),
        assignee=auditor,
        status=FlagStatus.IN_REVIEW,
    )
    Flag.objects.filter(pk=flag.pk).update(due_date=timezone.localdate())  # due today: this week
    url = reverse("queue")

    def names(params):
        response = client.get(url, params)
        assert response.status_code == 200
        return {o.pk for o in response.context["page"].object_list}, response.content.decode()

    everyone, page = names({})
    assert everyone >= {op.pk, other.pk}
    assert late.due_date.strftime("%d.%m.%Y") in page
    assert names({"due": "overdue"})[0] == {other.pk}
    this_week = names({"due": "week"})[0]
    assert op.pk in this_week
    assert other.pk not in this_week
    assert names({"assignee": "me"})[0] == {other.pk}
    assert names({"due": "overdue", "assignee": "me"})[0] == {other.pk}


@pytest.mark.django_db
def test_supervisor_edits_a_deadline_in_the_admin_and_it_is_logged_an_auditor_cannot(client, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    row = SeverityDeadline.objects.get(severity="critical")
    url = reverse("admin:audits_severitydeadline_change", args=[row.pk])
    aud = h.user("aud", group="auditors")
    aud.is_staff = True
    aud.save()
    client.force_login(aud)
    client.post(url, {"working_days": 9, "escalate_after_days": 1})
    row.refresh_from_db()
    assert row.working_days == 3
    sup = h.user("sup", group="supervisors")
    sup.is_staff = True
    sup.save()
    client.force_login(sup)
    assert client.get(url).status_code == 200
    response = client.post(url, {"working_days": 5, "escalate_after_days": 2})
    assert response.status_code == 302, response.content[:500]
    row.refresh_from_db()
    assert (row.working_days, row.escalate_after_days) == (5, 2)
    assert AuditEvent.objects.filter(action="admin.change", object_type="audits.severitydeadline").exists()


@pytest.mark.django_db
def test_the_escalation_reads_in_the_supervisors_language_on_the_notifications_page(client, flag, settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    sup = h.user("sup", group="supervisors")
    assert escalations_send(today=date(2025, 7, 14)) == 1
    client.force_login(sup)
    page = client.get(reverse("notifications")).content.decode()
    assert f"Нарушение №{flag.pk} (MISSING_FILING" in page
    assert "просрочено на 4 раб. дн. (срок 08.07.2025), уровень эскалации 1" in page
    assert 'class="count" data-count="1"' in page  # the header: one unread escalation
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("notifications")).content.decode()
    assert f"Flag No. {flag.pk} (MISSING_FILING" in page
    assert "escalation level 1" in page
