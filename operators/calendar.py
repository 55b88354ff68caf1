"""The filing calendar (DESIGN section 4): which periods an operator owes, and when each is due.

Defaults live here; supervisors override them per kind with a FilingCalendar row
in the admin. A due date on a weekend or a Belarusian public holiday moves to
the next working day.
"""

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone

from operators.models import FilingCalendar, FilingKind, Operator, OperatorStatus, Periodicity

# kind -> (periodicity, due days after the period's last day, change-notice days)
DEFAULTS: dict[str, tuple[str, int, int | None]] = {
    FilingKind.TRANSFER_REGISTER: (Periodicity.MONTHLY, 15, None),  # the 15th of the following month
    FilingKind.CLIENT_REGISTER: (Periodicity.QUARTERLY, 30, None),  # 30 days after the quarter ends
    FilingKind.OPERATOR_PROFILE: (Periodicity.YEARLY, 31, 10),  # 31 January; within 10 days of a change
}


@dataclass(frozen=True)
class OwedPeriod:
    kind: str
    period_start: date
    period_end: date
    due_date: date


def calendar_rule(*, kind: str) -> tuple[str, int, int | None]:
    row = FilingCalendar.objects.filter(kind=kind).first()
    if row is None:
        return DEFAULTS[kind]
    return row.periodicity, row.due_days_after_period, row.change_notice_days


@lru_cache(maxsize=64)
def _by_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("BY", years=year)


def next_working_day(day: date) -> date:
    """The day itself if it is a working day in Belarus, else the next one."""
    while day.weekday() >= 5 or day in _by_holidays(day.year):
        day += timedelta(days=1)
    return day


def reporting_start() -> date:
    return date.fromisoformat(str(settings.REPORTING_START))


def period_containing(*, periodicity: str, day: date) -> tuple[date, date]:
    if periodicity == Periodicity.MONTHLY:
        start = day.replace(day=1)
    elif periodicity == Periodicity.QUARTERLY:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    else:
        start = date(day.year, 1, 1)
    months = {Periodicity.MONTHLY: 1, Periodicity.QUARTERLY: 3}.get(periodicity, 12)
    end_month = start.month + months - 1
    end = date(start.year, end_month, _calendar.monthrange(start.year, end_month)[1])
    return start, end


def filing_due_date(*, kind: str, period_end: date) -> date:
    _periodicity, due_days, _notice = calendar_rule(kind=kind)
    return next_working_day(period_end + timedelta(days=due_days))


def periods_owed(*, operator: Operator, kind: str | None = None, today: date | None = None) -> list[OwedPeriod]:
    """Every complete period the operator owes, oldest first (DESIGN section 4).

    Periods start on or after the later of the operator's HTP registration and
    REPORTING_START; an operator that is not active owes nothing new.
    """
    if operator.status != OperatorStatus.ACTIVE:
        return []
    today = today or timezone.localdate()
    first = reporting_start()
    if operator.htp_registered_on and operator.htp_registered_on > first:
        first = operator.htp_registered_on
    owed: list[OwedPeriod] = []
    for k in [kind] if kind else list(FilingKind.values):
        periodicity, due_days, _notice = calendar_rule(kind=k)
        start, end = period_containing(periodicity=periodicity, day=first)
        if start < first:
            start, end = period_containing(periodicity=periodicity, day=end + timedelta(days=1))
        while end < today:
            owed.append(OwedPeriod(k, start, end, next_working_day(end + timedelta(days=due_days))))
            start, end = period_containing(periodicity=periodicity, day=end + timedelta(days=1))
    owed.sort(key=lambda p: (p.due_date, p.kind))
    return owed
