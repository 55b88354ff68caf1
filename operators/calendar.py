"""The filing calendar (DESIGN section 4): which periods an operator owes, and when each is due.

Defaults live here; supervisors override them per kind with a FilingCalendar row
in the admin. A due date on a weekend or a Belarusian public holiday moves to
the next working day.

This is the only implementation. For one operator call `periods_owed(operator=...)`;
for many (the audit scan, reminders) read the calendar once with `calendar_rules()`
and pass it as `rules=`, so that the number of queries does not grow with the operators.
"""

import calendar as _calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Protocol

import holidays
from django.conf import settings
from django.utils import timezone

from operators.models import FilingCalendar, FilingKind, OperatorStatus, Periodicity


@dataclass(frozen=True)
class CalendarRule:
    periodicity: str
    due_days_after_period: int
    change_notice_days: int | None = None


DEFAULTS: dict[str, CalendarRule] = {
    FilingKind.TRANSFER_REGISTER: CalendarRule(Periodicity.MONTHLY, 15),  # the 15th of the following month
    FilingKind.CLIENT_REGISTER: CalendarRule(Periodicity.QUARTERLY, 30),  # 30 days after the quarter ends
    FilingKind.OPERATOR_PROFILE: CalendarRule(Periodicity.YEARLY, 31, 10),  # 31 January; within 10 days of a change
}


@dataclass(frozen=True)
class FilingCalendarRules:
    """The calendar at one moment: every kind's rule, defaults overridden by the supervisors' rows."""

    by_kind: Mapping[str, CalendarRule]

    def rule(self, *, kind: str) -> CalendarRule:
        return self.by_kind[kind]


def calendar_rules() -> FilingCalendarRules:
    """Every kind's rule, read in one query."""
    by_kind = {str(kind): rule for kind, rule in DEFAULTS.items()}
    for row in FilingCalendar.objects.only("kind", "periodicity", "due_days_after_period", "change_notice_days"):
        by_kind[row.kind] = CalendarRule(row.periodicity, row.due_days_after_period, row.change_notice_days)
    return FilingCalendarRules(by_kind=by_kind)


class OwesFilings(Protocol):
    """What the calendar needs to know of an operator (an Operator, or the scan's OperatorRow)."""

    @property
    def status(self) -> str: ...

    @property
    def htp_registered_on(self) -> date | None: ...


@dataclass(frozen=True)
class OwedPeriod:
    kind: str
    period_start: date
    period_end: date
    due_date: date


@lru_cache(maxsize=64)
def _by_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("BY", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _by_holidays(day.year)


def next_working_day(day: date) -> date:
    """The day itself if it is a working day in Belarus, else the next one."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def working_days_before(day: date, n: int) -> date:
    """The date n working days before `day`."""
    while n > 0:
        day -= timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_after(day: date, n: int) -> date:
    """The date n working days after `day` (a flag's or a request's due date)."""
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not after `start`):
    how many working days a due date `start` is overdue on `end`."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


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


def filing_due_date(*, kind: str, period_end: date, rules: FilingCalendarRules | None = None) -> date:
    """Due date of a period ending on `period_end`; `rules` saves the query when computing many."""
    rule = (rules or calendar_rules()).rule(kind=kind)
    return next_working_day(period_end + timedelta(days=rule.due_days_after_period))


def periods_owed(
    *,
    operator: OwesFilings,
    kind: str | None = None,
    today: date | None = None,
    rules: FilingCalendarRules | None = None,
) -> list[OwedPeriod]:
    """Every complete period the operator owes, oldest due date first (DESIGN section 4).

    Periods start on or after the later of the operator's HTP registration and
    REPORTING_START; an operator that is not active owes nothing new. Without
    `rules` the calendar is read (one query); pass `calendar_rules()` when looping
    over operators.
    """
    if operator.status != OperatorStatus.ACTIVE:
        return []
    today = today or timezone.localdate()
    rules = rules or calendar_rules()
    first = reporting_start()
    if operator.htp_registered_on and operator.htp_registered_on > first:
        first = operator.htp_registered_on
    owed: list[OwedPeriod] = []
    for k in [kind] if kind else list(FilingKind.values):
        rule = rules.rule(kind=k)
        start, end = period_containing(periodicity=rule.periodicity, day=first)
        if start < first:
            start, end = period_containing(periodicity=rule.periodicity, day=end + timedelta(days=1))
        while end < today:
            owed.append(OwedPeriod(k, start, end, next_working_day(end + timedelta(days=rule.due_days_after_period))))
            start, end = period_containing(periodicity=rule.periodicity, day=end + timedelta(days=1))
    owed.sort(key=lambda p: (p.due_date, p.kind))
    return owed
