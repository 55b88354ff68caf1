"""Conditions on the transfers that a figure and its list share.

UNREGISTERED_CLIENT counts the transfers by investors missing from the operator's client
register (audits/rules/summary.py); the transfers page lists them with `?unregistered=1`.
Both read the condition from here, so the flag's figure and the rows its link opens cannot
drift apart.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import DateTimeField, Exists, Func, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from operators.calendar import OwedPeriod, calendar_rules, periods_owed
from operators.models import ClientRecord, FilingKind, FilingStatus, Operator, RegistrationFiling

# A filing counts as filed once it was accepted; a superseded filing was accepted
# before a newer one replaced it.
FILED_STATUSES = (FilingStatus.ACCEPTED, FilingStatus.SUPERSEDED)
MINSK = ZoneInfo("Europe/Minsk")


class MinskDayStart(Func):
    """PostgreSQL: the first instant of a date (plus `days`) in Europe/Minsk, as timestamptz."""

    output_field = DateTimeField()

    def __init__(self, expression, *, days: int = 0):
        super().__init__(expression)
        self.days = days

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(({sql} + %s)::timestamp AT TIME ZONE 'Europe/Minsk')", [*params, self.days]


def after_expiry_from(valid_until: date) -> datetime:
    """The first instant after a certificate's last valid day, in Minsk: transfers from then on
    occurred after expiry (CERTIFICATE_EXPIRED counts them; its link lists them from this instant)."""
    return datetime.combine(valid_until + timedelta(days=1), time.min, tzinfo=MINSK)


def unregistered_transfers(queryset: QuerySet, *, instants: bool | None = None) -> QuerySet:
    """The transfers of `queryset` by an investor absent from its operator's client register at that date.

    An investor is registered at a date when a client record of the operator has registered_at <= it;
    only dates an accepted client register already covers (period_end >= the date) count.
    `instants` (PostgreSQL, the default there): compare instants - the dates of the few client records
    and filings become the first moment of that day in Minsk - instead of converting millions of
    occurred_at to Minsk dates.
    """
    if instants is None:
        instants = connection.vendor == "postgresql"
    if instants:
        registered = ClientRecord.objects.annotate(registered_from=MinskDayStart("registered_at")).filter(
            operator_id=OuterRef("operator_id"),
            investor_ref=OuterRef("investor_ref"),
            registered_from__lte=OuterRef("occurred_at"),
        )
        covered = RegistrationFiling.objects.annotate(covered_before=MinskDayStart("period_end", days=1)).filter(
            operator_id=OuterRef("operator_id"),
            kind=FilingKind.CLIENT_REGISTER,
            status__in=FILED_STATUSES,
            covered_before__gt=OuterRef("occurred_at"),
        )
    else:
        queryset = queryset.annotate(day=TruncDate("occurred_at", tzinfo=MINSK))
        registered = ClientRecord.objects.filter(
            operator_id=OuterRef("operator_id"),
            investor_ref=OuterRef("investor_ref"),
            registered_at__lte=OuterRef("day"),
        )
        covered = RegistrationFiling.objects.filter(
            operator_id=OuterRef("operator_id"),
            kind=FilingKind.CLIENT_REGISTER,
            status__in=FILED_STATUSES,
            period_end__gte=OuterRef("day"),
        )
    return queryset.filter(Exists(covered), ~Exists(registered))


def client_registers_missing(*, today: date, operator_ids: list[int] | None = None) -> dict[int, list[OwedPeriod]]:
    """Per operator, the client-register periods it owes whose due date is before `today` and that no filed
    register covers (MISSING_FILING's notion): on their dates every investor of the operator is unregistered."""
    operators = Operator.objects.all() if operator_ids is None else Operator.objects.filter(pk__in=operator_ids)
    filed = defaultdict(list)
    for operator_id, start, end in RegistrationFiling.objects.filter(
        kind=FilingKind.CLIENT_REGISTER, status__in=FILED_STATUSES
    ).values_list("operator_id", "period_start", "period_end"):
        filed[operator_id].append((start, end))
    rules = calendar_rules()
    missing = {}
    for op in operators.only("id", "status", "htp_registered_on"):
        periods = [
            p
            for p in periods_owed(operator=op, kind=FilingKind.CLIENT_REGISTER, today=today, rules=rules)
            if p.due_date < today
            and not any(start <= p.period_start and end >= p.period_end for start, end in filed[op.pk])
        ]
        if periods:
            missing[op.pk] = periods
    return missing


def day_start(day: date) -> datetime:
    """The first instant of a date in Minsk."""
    return datetime.combine(day, time.min, tzinfo=MINSK)


def register_missing_transfers(queryset: QuerySet, *, missing: dict[int, list[OwedPeriod]]) -> QuerySet:
    """The transfers of `queryset` on dates whose client register is due and missing (client_registers_missing):
    UNREGISTERED_CLIENT's second case, and the transfers page's `?unregistered=missing`."""
    condition = Q(pk__in=[])
    for operator_id, periods in missing.items():
        for p in periods:
            condition |= Q(
                operator_id=operator_id,
                occurred_at__gte=day_start(p.period_start),
                occurred_at__lt=day_start(p.period_end + timedelta(days=1)),
            )
    return queryset.filter(condition)
