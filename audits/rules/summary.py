"""Two passes over the transfers shared by the transfer rules.

CERTIFICATE_EXPIRED, UNKNOWN_PLATFORM and HIGH_RISK_JURISDICTION need aggregates of the
same few transfers; at ten million rows each full scan costs seconds, so one query groups
the transfers to platforms of interest or after a certificate expired by (operator,
platform of interest, after expiry) and the rules fold the groups. UNREGISTERED_CLIENT
needs an anti-join against the client registers, a second pass grouped by operator, and
the transfers on dates whose client register is due and missing (a range scan per such
period, only when there are any). Both
are portable ORM queries (PostgreSQL: parallel scan and hash anti-join).
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import BooleanField, Case, Count, F, Max, Min, Q, Sum, Value, When

from audits.models import HighRiskCountry
from operators.models import ForeignPlatform, Operator
from outflows.conditions import (
    after_expiry_from,
    client_registers_missing,
    register_missing_transfers,
    unregistered_transfers,
)
from outflows.models import CrossBorderTransfer, Direction


@dataclass
class TransferSummary:
    # groups: operator_id, platform_id (only for platforms of interest, else None),
    # after_expiry, n, value, out, inn, first, last.
    groups: list[dict]
    # unregistered: per operator_id, the same figures for transfers by unregistered investors,
    # plus example_investor.
    unregistered: list[dict]
    platforms: dict[int, dict]  # platforms of interest: unverified or in a high-risk country
    high_risk: dict[str, str]  # country -> list name
    # register_missing: per operator_id, the same figures for transfers on dates whose client register is
    # due and missing (every investor unregistered then); missing_registers: those periods per operator.
    register_missing: list[dict] = field(default_factory=list)
    missing_registers: dict = field(default_factory=dict)


AGGREGATES = {
    "n": Count("id"),
    "value": Sum("value_byn"),
    "out": Sum("value_byn", filter=Q(direction=Direction.OUT)),
    "inn": Sum("value_byn", filter=Q(direction=Direction.IN)),
    "first": Min("occurred_at"),
    "last": Max("occurred_at"),
}


def _interest() -> tuple[dict[int, dict], dict[str, str]]:
    high_risk = dict(HighRiskCountry.objects.filter(active=True).values_list("country", "list_name"))
    platforms = {
        p["id"]: p
        for p in ForeignPlatform.objects.filter(Q(verified=False) | Q(country__in=list(high_risk))).values(
            "id", "slug", "country", "verified"
        )
    }
    return platforms, high_risk


def _after_expiry(*, today: date) -> Q | None:
    """Transfers after their operator's certificate expired, as a condition on instants (the first
    moment after the last valid day, in Minsk) for the few operators whose certificate has expired:
    no time-zone conversion and no join per row of the table. None when no certificate has expired."""
    expired = Operator.objects.filter(htp_certificate_valid_until__lt=today).values_list(
        "id", "htp_certificate_valid_until"
    )
    condition = None
    for operator_id, valid_until in expired:
        q = Q(operator_id=operator_id, occurred_at__gte=after_expiry_from(valid_until))
        condition = q if condition is None else condition | q
    return condition


def transfer_summary(*, today: date) -> TransferSummary:
    platforms, high_risk = _interest()
    after = _after_expiry(today=today)
    # Only transfers to platforms of interest or after a certificate expired are grouped: the database
    # still reads every row but aggregates only the few that matter (one or two per cent).
    wanted = Q(platform_id__in=list(platforms))
    if after is not None:
        wanted |= after
    groups = list(
        CrossBorderTransfer.objects.filter(wanted)
        .annotate(
            interest=Case(When(platform_id__in=list(platforms), then=F("platform_id")), default=None),
            after_expiry=Case(When(after, then=Value(True)), default=Value(False), output_field=BooleanField())
            if after is not None
            else Value(False, output_field=BooleanField()),
        )
        .values("operator_id", "interest", "after_expiry")
        .annotate(**AGGREGATES)
        .order_by()
    )
    for g in groups:
        g["platform_id"] = g.pop("interest")
    unregistered = unregistered_by_operator(instants=connection.vendor == "postgresql")
    missing = client_registers_missing(today=today)
    register_missing = []
    if missing:
        register_missing = list(
            register_missing_transfers(CrossBorderTransfer.objects.all(), missing=missing)
            .values("operator_id")
            .annotate(**AGGREGATES, example_investor=Min("investor_ref"))
            .order_by()
        )
    return TransferSummary(
        groups=groups,
        unregistered=unregistered,
        platforms=platforms,
        high_risk=high_risk,
        register_missing=register_missing,
        missing_registers=missing,
    )


def unregistered_by_operator(*, instants: bool) -> list[dict]:
    """Per operator: transfers by investors not in its client register at that date (UNREGISTERED_CLIENT).

    The condition is outflows.conditions.unregistered_transfers, the one the transfers page's
    `?unregistered=1` filter applies: the flag's figures and the rows its link opens are the same.
    """
    return list(
        unregistered_transfers(CrossBorderTransfer.objects.all(), instants=instants)
        .values("operator_id")
        .annotate(**AGGREGATES, example_investor=Min("investor_ref"))
        .order_by()
    )


def filing_totals(*, filing_ids: list[int]) -> dict[int, dict]:
    """Count and OUT/IN value of the imported transfers of these filings (a full pass when they are many)."""
    rows = (
        CrossBorderTransfer.objects.filter(filing_id__in=filing_ids)
        .values("filing_id")
        .annotate(n=Count("id"), out=AGGREGATES["out"], inn=AGGREGATES["inn"])
        .order_by()
    )
    return {row["filing_id"]: row for row in rows}
