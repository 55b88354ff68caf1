"""The filing calendar read once for many operators (the scan's path) gives what it gives one operator at a time."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from operators.calendar import calendar_rules, periods_owed
from operators.models import FilingCalendar, Operator
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("registered_on", [None, date(2025, 1, 1), date(2025, 2, 14), date(2025, 7, 1)])
@pytest.mark.parametrize("today", [date(2025, 6, 20), date(2026, 2, 2), date(2026, 12, 31)])
def test_rules_read_once_give_the_same_periods_as_one_operator_at_a_time(registered_on, today):
    op = h.operator(htp_registered_on=registered_on)
    assert periods_owed(operator=op, today=today, rules=calendar_rules()) == periods_owed(operator=op, today=today)


def test_supervisor_calendar_rows_are_followed_by_the_rules_read_once():
    FilingCalendar.objects.create(kind="transfer_register", periodicity="monthly", due_days_after_period=20)
    op = h.operator()
    today = date(2025, 6, 20)
    once = periods_owed(operator=op, kind="transfer_register", today=today, rules=calendar_rules())
    assert once == periods_owed(operator=op, kind="transfer_register", today=today)
    # April 2025 + 20 days = Tuesday 20 May.
    assert [(p.period_start, p.due_date) for p in once][3] == (date(2025, 4, 1), date(2025, 5, 20))


@pytest.mark.parametrize("operators", [2, 20])
def test_periods_of_many_operators_read_the_calendar_once(operators):
    FilingCalendar.objects.create(kind="client_register", periodicity="quarterly", due_days_after_period=45)
    for n in range(operators):
        h.operator(htp_registered_on=date(2025, 1 + n % 12, 1))
    ops = list(Operator.objects.all())
    with CaptureQueriesContext(connection) as captured:
        rules = calendar_rules()
        owed = [periods_owed(operator=op, today=date(2026, 2, 2), rules=rules) for op in ops]
    assert len(captured.captured_queries) == 1
    assert all(owed)
