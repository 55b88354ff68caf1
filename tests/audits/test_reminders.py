"""Filing reminders: 5 working days before the due date and the day after it is missed; each sent once."""

import re
from datetime import date

import pytest
from django.core import mail

from audits.models import ReminderSent
from audits.services import reminders_send
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    op = h.operator(email="office@op.by")
    h.user("staff", operator=op)
    h.file_everything(op, until=date(2025, 5, 1))  # May's transfer register (due Mon 16 June) is open
    return op


def test_due_soon_five_working_days_before(op):
    # 16 June 2025 (Mon) minus 5 working days = 9 June (Mon).
    assert reminders_send(today=date(2025, 6, 6)) == 0
    assert reminders_send(today=date(2025, 6, 9)) == 1
    [message] = mail.outbox
    assert sorted(message.to) == ["office@op.by", "staff@example.by"]
    assert "16.06.2025" in message.body
    assert not re.search(r"[a-z]+_[a-z]+", message.subject + message.body), "a filing kind by its code"
    assert reminders_send(today=date(2025, 6, 10)) == 0  # not twice
    assert len(mail.outbox) == 1


def test_missed_the_day_after_and_only_once(op):
    assert reminders_send(today=date(2025, 6, 16)) == 1  # due today: still the due-soon reminder
    assert reminders_send(today=date(2025, 6, 17)) == 1
    assert reminders_send(today=date(2025, 6, 17)) == 0
    assert list(ReminderSent.objects.order_by("reminder").values_list("reminder", flat=True)) == [
        "due_soon",
        "missed",
    ]
    assert "не подан" in mail.outbox[-1].subject + mail.outbox[-1].body


def test_no_reminder_once_filed(op):
    h.filing(op, start=date(2025, 5, 1))
    assert reminders_send(today=date(2025, 6, 9)) == 0
    assert reminders_send(today=date(2025, 6, 17)) == 0
    assert mail.outbox == []
