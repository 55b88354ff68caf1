"""Which transfers a stat cell (dimension, key, cohort) of a run counts: the one mapping, for every dimension.

A cell of a run (an OutflowStat row) counts the OUT transfers with occurred_at <= the run's as_of
whose key in its dimension is `key` and whose cohort (calendar month of occurred_at in Minsk) is
`cohort`, or any for "all": the matured ones (occurred_at + W <= as_of) in outbound_value_byn,
returned_value_byn and outbound_count, the others in pending_*. The engine groups them the same way
(outflows.engine.aggregate); tests/outflows/test_drilldown.py drills every cell of a run down to its
transfers and adds them up again.

DIMENSION_FILTERS maps each dimension to the filter of its key on the transfer table: a new
dimension (e.g. operator x platform, asset, investor residency) adds one entry here and every page,
export and API endpoint of the drill-down serves it (`dimension_register`).

The transfers come from a `CellSource`: by default the live table with keys read by today's registry;
for a run that recorded its inputs, keys read by the registry it recorded, and, once its registers
were superseded or others accepted for its period, the rows it read, live and archived
(outflows.drilldown.run_rows). The same filters serve both: the rows have the same columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Greatest, TruncDate
from django.db.models.lookups import Exact

from operators.models import ClientRecord, FilingKind, FilingStatus, ForeignPlatform, Operator
from outflows.models import CrossBorderTransfer, Direction, OutflowRun

MINSK = ZoneInfo("Europe/Minsk")
ALL = "all"
NO_CLASS = "-"  # residency / KYC key of an outbound whose investor no valid client register lists (outflows.variants)


def _ids(queryset: QuerySet) -> list[int]:
    # Looked up first (one small query): the planner then knows the ids (bench/README_pages.md).
    return list(queryset.values_list("pk", flat=True))


@dataclass(frozen=True)
class CellSource:
    """The transfers a run's cells are listed from, and the registry their keys are read by.

    transfers: a QuerySet of transfer rows (None: the live table); operators / platforms: a run's record
    of the registry ([[unp, id], ...], [[slug, id, country], ...], outflows.inputs), None: today's tables;
    client_records: the client-register records the residency and KYC keys are read by (None: the accepted
    registers' ClientRecord rows); as_read: the transfers and records are those the run read, live and
    archived (outflows.drilldown.cell_source).
    """

    transfers: QuerySet | None = None
    operators: list | None = None
    platforms: list | None = None
    client_records: QuerySet | None = None
    as_read: bool = False

    def rows(self) -> QuerySet:
        return CrossBorderTransfer.objects.all() if self.transfers is None else self.transfers.all()

    def records(self) -> QuerySet:
        if self.client_records is None:
            return ClientRecord.objects.filter(
                filing__kind=FilingKind.CLIENT_REGISTER, filing__status=FilingStatus.ACCEPTED
            )
        return self.client_records.all()

    def operator_ids(self, unp: str) -> list[int]:
        if self.operators is None:
            return _ids(Operator.objects.filter(unp=unp))
        return [pk for found, pk in self.operators if found == unp]

    def platform_ids(self, field: str, value: str) -> list[int]:
        """Platforms whose `field` ("slug" or "country") is value."""
        if self.platforms is None:
            return _ids(ForeignPlatform.objects.filter(**{field: value}))
        at = 0 if field == "slug" else 2
        return [row[1] for row in self.platforms if row[at] == value]


LIVE = CellSource()


def _pair_filter(key: str, platform_field: str, source: CellSource) -> Q:
    """Operator x platform ("UNP:slug") or operator x country ("UNP:CC")."""
    unp, _, value = key.partition(":")
    return Q(operator_id__in=source.operator_ids(unp)) & Q(platform_id__in=source.platform_ids(platform_field, value))


def _client_class_filter(key: str, field: str, source: CellSource) -> Q:
    """Residency or KYC level of the outbound's investor in its reporting operator's client register valid at
    its instant (outflows.clients): of the accepted registers' records for (operator, investor_ref) in force
    then (from the later of registered_at and the register's period start, in Minsk), the latest in force,
    then the later register; "-" (NO_CLASS): no such record."""
    day = TruncDate(ExpressionWrapper(OuterRef("occurred_at"), output_field=DateTimeField()), tzinfo=MINSK)
    in_force = source.records().filter(
        operator_id=OuterRef("operator_id"),
        investor_ref=OuterRef("investor_ref"),
        registered_at__lte=day,
        filing__period_start__lte=day,
    )
    if key == NO_CLASS:
        return ~Q(Exists(in_force))
    latest = in_force.order_by(Greatest("registered_at", "filing__period_start").desc(), "-filing_id")
    return Q(Exact(Subquery(latest.values(field)[:1]), key))


# dimension -> filter(key, source): a Q on the transfer rows selecting those of that key.
DIMENSION_FILTERS: dict[str, Callable[[str, CellSource], Q]] = {
    "overall": lambda key, _source: Q() if key == ALL else Q(pk__in=[]),
    "operator": lambda key, source: Q(operator_id__in=source.operator_ids(key)),
    "platform": lambda key, source: Q(platform_id__in=source.platform_ids("slug", key)),
    "country": lambda key, source: Q(platform_id__in=source.platform_ids("country", key)),
    # The cross-tabs of outflows.variant_summary: "UNP:slug", "UNP:CC", a ticker.
    "operator_platform": lambda key, source: _pair_filter(key, "slug", source),
    "operator_country": lambda key, source: _pair_filter(key, "country", source),
    "asset": lambda key, _source: Q(asset=key),
    "residency": lambda key, source: _client_class_filter(key, "residency_country", source),
    "kyc": lambda key, source: _client_class_filter(key, "kyc_level", source),
}


def dimension_register(dimension: str, key_filter: Callable[[str], Q]) -> None:
    """Add a dimension: key_filter(key) is a Q on the transfer rows selecting the transfers of that key."""
    DIMENSION_FILTERS[dimension] = lambda key, _source: key_filter(key)


def dimension_known(dimension: str) -> bool:
    return dimension in DIMENSION_FILTERS


def matured_until(run: OutflowRun) -> datetime:
    """The last instant an outbound may have occurred at to be matured in this run."""
    return run.as_of - timedelta(days=run.window_days)


def cohort_bounds(cohort: str) -> tuple[datetime, datetime] | None:
    """A "YYYY-MM" cohort's first instant and the next month's first instant, in Minsk; None for "all".

    ValueError for anything else.
    """
    if cohort == ALL:
        return None
    year, month = (int(part) for part in cohort.split("-"))
    start = datetime(year, month, 1, tzinfo=MINSK)
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=MINSK)


def cell_outbounds(
    *, run: OutflowRun, dimension: str, key: str, cohort: str, state: str = "", source: CellSource = LIVE
) -> QuerySet:
    """The OUT transfers the cell counts (state "matured" or "pending": only those), unordered, from
    `source` (default: the live table, keys by today's registry).

    LookupError for a dimension no entry maps, ValueError for a malformed cohort.
    """
    if dimension not in DIMENSION_FILTERS:
        raise LookupError(f"unknown dimension {dimension!r}")
    transfers = source.rows().filter(
        DIMENSION_FILTERS[dimension](key, source), direction=Direction.OUT, occurred_at__lte=run.as_of
    )
    bounds = cohort_bounds(cohort)
    if bounds is not None:
        transfers = transfers.filter(occurred_at__gte=bounds[0], occurred_at__lt=bounds[1])
    if state == "matured":
        transfers = transfers.filter(occurred_at__lte=matured_until(run))
    elif state == "pending":
        transfers = transfers.filter(occurred_at__gt=matured_until(run))
    return transfers
