"""The scan's set-based calendar gives the same periods and due dates as operators/calendar.py."""

from datetime import date

import pytest

from audits.rules.calendar import calendar_settings, periods_owed
from operators import calendar as owner
from operators.models import FilingCalendar
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("registered_on", [None, date(2025, 1, 1), date(2025, 2, 14), date(2025, 7, 1)])
@pytest.mark.parametrize("today", [date(2025, 6, 20), date(2026, 2, 2), date(2026, 12, 31)])
def test_same_periods_as_the_filing_calendar(registered_on, today):
    op = h.operator(htp_registered_on=registered_on)
    mine = periods_owed(registered_on=registered_on, until=today, cal=calendar_settings())
    theirs = owner.periods_owed(operator=op, today=today)
    assert sorted((p.kind, p.start, p.end, p.due) for p in mine) == sorted(
        (p.kind, p.period_start, p.period_end, p.due_date) for p in theirs
    )


def test_supervisor_calendar_rows_are_followed():
    FilingCalendar.objects.create(kind="transfer_register", periodicity="monthly", due_days_after_period=20)
    op = h.operator()
    today = date(2025, 6, 20)
    mine = periods_owed(registered_on=op.htp_registered_on, until=today, cal=calendar_settings())
    theirs = owner.periods_owed(operator=op, today=today)
    assert sorted((p.kind, p.start, p.due) for p in mine) == sorted(
        (p.kind, p.period_start, p.due_date) for p in theirs
    )
