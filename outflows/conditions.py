"""Conditions on the transfers that a figure and its list share.

UNREGISTERED_CLIENT counts the transfers by investors missing from the operator's client
register (audits/rules/summary.py); the transfers page lists them with `?unregistered=1`.
Both read the condition from here, so the flag's figure and the rows its link opens cannot
drift apart.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import DateTimeField, Exists, Func, OuterRef, QuerySet
from django.db.models.functions import TruncDate

from operators.models import ClientRecord, FilingKind, FilingStatus, RegistrationFiling

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
