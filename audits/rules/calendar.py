"""Filing calendar as the scan needs it: the periods every operator owes, without a query per operator.

operators/calendar.py owns the calendar; its `periods_owed(operator=...)` reads the
FilingCalendar rows on every call (queries per operator), so the set-based rules use this
equivalent that reads them once per scan. tests/audits/test_calendar.py checks that both
give the same periods and due dates; holidays come from operators.calendar when present.
"""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import holidays
from django.conf import settings

from operators.models import FilingKind

# kind -> (periodicity, days after the period's end). DESIGN section 4:
# the 15th of the next month = end + 15; 30 days after the quarter; 31 January = 31 Dec + 31.
DEFAULTS = {
    FilingKind.TRANSFER_REGISTER: ("monthly", 15),
    FilingKind.CLIENT_REGISTER: ("quarterly", 30),
    FilingKind.OPERATOR_PROFILE: ("yearly", 31),
}


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date
    due: date


def calendar_settings() -> dict[str, tuple[str, int]]:
    """Defaults overridden by the supervisors' FilingCalendar rows (one query)."""
    result = {str(k): v for k, v in DEFAULTS.items()}
    try:
        from operators.models import FilingCalendar
    except ImportError:  # the intake helper's model is not there yet
        return result
    for row in FilingCalendar.objects.values("kind", "periodicity", "due_days_after_period"):
        result[row["kind"]] = (row["periodicity"], row["due_days_after_period"])
    return result


@cache
def _holidays(year: int) -> set[date]:
    return set(holidays.country_holidays("BY", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_working_day(day: date) -> date:
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


def reporting_start() -> date:
    return date.fromisoformat(str(settings.REPORTING_START))


def _period_end(start: date, periodicity: str) -> date:
    if periodicity == "monthly":
        return start.replace(day=monthrange(start.year, start.month)[1])
    if periodicity == "quarterly":
        month = start.month + 2
        return date(start.year, month, monthrange(start.year, month)[1])
    return date(start.year, 12, 31)


def _period_starts(first: date, last: date, periodicity: str):
    """Period starts on or after `first` and on or before `last`."""
    if periodicity == "yearly":
        year = first.year if first == date(first.year, 1, 1) else first.year + 1
        while date(year, 1, 1) <= last:
            yield date(year, 1, 1)
            year += 1
        return
    step = 1 if periodicity == "monthly" else 3
    month0 = (first.month - 1) // step * step + 1
    start = date(first.year, month0, 1)
    if start < first:
        month = month0 + step
        start = date(first.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    while start <= last:
        yield start
        month = start.month + step
        start = date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def periods_owed(*, registered_on: date | None, until: date, cal: dict[str, tuple[str, int]]) -> list[Period]:
    """Every complete period (ended before `until`) of every kind that starts on or after the later
    of HTP registration and the reporting start, with its (working-day adjusted) due date."""
    first = max(reporting_start(), registered_on) if registered_on else reporting_start()
    result = []
    for kind, (periodicity, days_after) in cal.items():
        for start in _period_starts(first, until, periodicity):
            end = _period_end(start, periodicity)
            if end >= until:
                break
            due = next_working_day(end + timedelta(days=days_after))
            result.append(Period(kind, start, end, due))
    return result
