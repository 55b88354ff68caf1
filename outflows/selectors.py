"""Reads of outflow results for the UI, the REST API and the command line.

Every function takes an optional run (an OutflowRun or its id); without it the
latest finished run is used, so a published figure always names its run.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from config.params import id_param
from operators import models as operator_models
from operators.access import Access
from operators.labels import country_name
from operators.models import ForeignPlatform, Operator
from outflows.conditions import client_registers_missing, register_missing_transfers, unregistered_transfers
from outflows.engine import CURVE_DAYS
from outflows.models import CrossBorderTransfer, Dimension, OutflowRun, OutflowStat, RunStatus

# The figures of one stat row, in the order of DESIGN section 10 (command JSON, exports, API, admin).
STAT_FIELDS = (
    "dimension",
    "key",
    "cohort",
    "outbound_value_byn",
    "returned_value_byn",
    "unreturned_value_byn",
    "non_return_share",
    "pending_outbound_value_byn",
    "pending_returned_value_byn",
    "outbound_count",
)


def outflow_run_latest() -> OutflowRun | None:
    """The most recent finished run (by finish time), or None when there is none."""
    return OutflowRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-pk").first()


def outflow_run_get(*, run: OutflowRun | int | None = None) -> OutflowRun | None:
    """The given finished run, or the latest finished one when run is None.

    Raises OutflowRun.DoesNotExist for an id that is not a finished run:
    queued, running or failed runs have no figures to show.
    """
    if run is None:
        return outflow_run_latest()
    run_id = run.pk if isinstance(run, OutflowRun) else int(run)
    return OutflowRun.objects.get(pk=run_id, status=RunStatus.FINISHED)


def outflow_run_list() -> QuerySet[OutflowRun]:
    return OutflowRun.objects.order_by("-created_at", "-pk")


def outflow_stats(
    *,
    run: OutflowRun | int | None = None,
    dimension: str | None = None,
    key: str | None = None,
    cohort: str | None = None,
    cohort_from: str | None = None,
    cohort_to: str | None = None,
) -> QuerySet[OutflowStat]:
    """Stat rows of a run, filtered. cohort_from/cohort_to ("YYYY-MM") bound the monthly cohorts
    and leave out the "all" rows; cohort="all" gives only the totals over every cohort."""
    found = outflow_run_get(run=run)
    if found is None:
        return OutflowStat.objects.none()
    stats = OutflowStat.objects.filter(run=found)
    if dimension:
        stats = stats.filter(dimension=dimension)
    if key:
        stats = stats.filter(key=key)
    if cohort:
        stats = stats.filter(cohort=cohort)
    if cohort_from:
        stats = stats.filter(cohort__gte=cohort_from).exclude(cohort="all")
    if cohort_to:
        stats = stats.filter(cohort__lte=cohort_to).exclude(cohort="all")
    return stats.order_by("dimension", "key", "cohort")


def outflow_overall(*, run: OutflowRun | int | None = None) -> OutflowStat | None:
    """The headline row: every matured outbound of the run, all cohorts."""
    return outflow_stats(run=run, dimension=Dimension.OVERALL, key="all", cohort="all").first()


def outflow_return_curve(
    *, run: OutflowRun | int | None = None, dimension: str = Dimension.OVERALL, key: str = "all"
) -> list[dict]:
    """Per cohort, the share of matured outbound value returned within 30, 90, 180 and 365 days.

    [{"cohort": "2025-01", "outbound_value_byn": Decimal, "returned_within": {30: Decimal | None, ...}}]
    A share is None when the cohort has no matured outbound value.
    """
    curve = []
    for stat in outflow_stats(run=run, dimension=dimension, key=key).exclude(cohort="all"):
        within = {
            days: (value / stat.outbound_value_byn).quantize(Decimal("0.000001")) if stat.outbound_value_byn else None
            for days, value in zip(CURVE_DAYS, stat.returned_curve, strict=True)
        }
        curve.append({"cohort": stat.cohort, "outbound_value_byn": stat.outbound_value_byn, "returned_within": within})
    return curve


def outflow_top_unreturned(
    *, dimension: str, run: OutflowRun | int | None = None, limit: int = 10
) -> QuerySet[OutflowStat]:
    """The keys (operators, platforms or countries) with the most unreturned matured value, all cohorts."""
    if dimension not in {Dimension.OPERATOR, Dimension.PLATFORM, Dimension.COUNTRY}:
        raise ValueError(f"no top list for dimension {dimension!r}")
    return outflow_stats(run=run, dimension=dimension, cohort="all").order_by("-unreturned_value_byn", "key")[:limit]


def outflow_stat_as_dict(stat: OutflowStat) -> dict:
    """One stat row in the shape of DESIGN section 10: money as decimal strings, the share a number or null."""
    return {
        "dimension": stat.dimension,
        "key": stat.key,
        "cohort": stat.cohort,
        "outbound_value_byn": str(stat.outbound_value_byn),
        "returned_value_byn": str(stat.returned_value_byn),
        "unreturned_value_byn": str(stat.unreturned_value_byn),
        "non_return_share": float(stat.non_return_share) if stat.non_return_share is not None else None,
        "pending_outbound_value_byn": str(stat.pending_outbound_value_byn),
        "pending_returned_value_byn": str(stat.pending_returned_value_byn),
        "outbound_count": stat.outbound_count,
    }


def _instant(text: str):
    """An ISO date-time of a filter link in UTC, or None (no such filter) when it is not one.

    Well-formed but impossible ones (month 13, hour 25) raise in parse_datetime; offsets beyond
    ±15:59, which PostgreSQL refuses, and year 1 at +14:00, which UTC cannot hold, are avoided by
    comparing in UTC. None of them is a 500.
    """
    from datetime import UTC

    from django.utils.dateparse import parse_datetime

    try:
        value = parse_datetime(text or "")
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value
    except (ValueError, OverflowError):
        return None


def transfer_figures(transfers: QuerySet) -> dict:
    """Count and value (BYN) of these transfers in one aggregate: what a list shows as its total,
    so a figure that links here can be checked against it."""
    figures = transfers.order_by().aggregate(n=Count("id"), value=Sum("value_byn"))
    return {"n": figures["n"], "value": figures["value"] or Decimal("0.00")}


def transfer_figures_of(rows: list) -> dict:
    """The same figures of transfers already read (a list whose one page holds them all): no query."""
    return {"n": len(rows), "value": sum((t.value_byn for t in rows), Decimal("0.00"))}


def transfers_visible(*, access: Access, queryset: QuerySet | None = None) -> QuerySet:
    """The transfer rows the caller may read: agencies (their `transfers` scope is the API's
    question) and the SCC all of them; operator staff and anyone else none (DESIGN section 7:
    staff see their filings and confirmed flags, not the row-level register). The one rule for
    the transfer pages, their exports and the API."""
    queryset = CrossBorderTransfer.objects.all() if queryset is None else queryset
    return queryset if access.reads_everything else queryset.none()


def transfer_list(
    *,
    access: Access,
    operator: str = "",
    platform: str = "",
    country: str = "",
    investor: str = "",
    direction: str = "",
    since: str = "",
    until: str = "",
    filing: str = "",
    unregistered: str = "",
):
    """Transfers filtered by operator UNP, platform slug, country, investor, direction, time (ISO, inclusive),
    filing id and `unregistered` ("1": by investors missing from the client register, the condition the
    UNREGISTERED_CLIENT flag counts, outflows.conditions; "missing": on dates whose client register is due
    and missing, its second case)."""
    transfers = transfers_visible(
        access=access, queryset=CrossBorderTransfer.objects.select_related("operator", "platform")
    )
    # Operators and platforms by their ids, looked up first (one small query each): the planner then
    # knows the values and reads the (occurred_at, id) order keeping the matching rows, with no join.
    if operator:
        found = Operator.objects.filter(unp=operator).values_list("pk", flat=True)
        transfers = transfers.filter(operator_id__in=list(found))
    if platform:
        found = ForeignPlatform.objects.filter(slug=platform.lower()).values_list("pk", flat=True)
        transfers = transfers.filter(platform_id__in=list(found))
    if country:
        found = ForeignPlatform.objects.filter(country=country.upper()).values_list("pk", flat=True)
        transfers = transfers.filter(platform_id__in=list(found))
    if investor:
        transfers = transfers.filter(investor_ref=investor)
    if direction in ("OUT", "IN"):
        transfers = transfers.filter(direction=direction)
    since_at, until_at = _instant(since), _instant(until)
    if since_at:
        transfers = transfers.filter(occurred_at__gte=since_at)
    if until_at:
        transfers = transfers.filter(occurred_at__lte=until_at)
    if id_param(filing) is not None:
        transfers = transfers.filter(filing_id=id_param(filing))
    if unregistered == "1":
        transfers = unregistered_transfers(transfers)
    elif unregistered == "missing":  # on dates whose client register is due and missing (today)
        transfers = register_missing_transfers(transfers, missing=client_registers_missing(today=timezone.localdate()))
    return transfers.order_by("occurred_at", "id")


def outflow_stat_keys(*, run: OutflowRun | None, dimension: str) -> list[tuple[str, str]]:
    """The keys a run has rows for in a dimension, with a label to pick them by (the statistics page's
    searchable list): operators by name and UNP, platforms by name and slug, countries by name and code."""
    if run is None or dimension not in (Dimension.OPERATOR, Dimension.PLATFORM, Dimension.COUNTRY):
        return []
    keys = list(
        OutflowStat.objects.filter(run=run, dimension=dimension, cohort="all")
        .order_by("key")
        .values_list("key", flat=True)
    )
    if dimension == Dimension.OPERATOR:
        names = dict(operator_models.Operator.objects.filter(unp__in=keys).values_list("unp", "name"))
    elif dimension == Dimension.PLATFORM:
        names = dict(operator_models.ForeignPlatform.objects.filter(slug__in=keys).values_list("slug", "name"))
    else:
        names = {key: country_name(key) for key in keys}
    return sorted(((key, f"{names.get(key) or key} ({key})") for key in keys), key=lambda pair: pair[1].casefold())


def outflow_stat_cohorts(*, run: OutflowRun | None) -> list[str]:
    """The cohorts ("YYYY-MM", then "all") a run has rows for: the statistics page offers them to pick."""
    if run is None:
        return []
    cohorts = OutflowStat.objects.filter(run=run, dimension=Dimension.OVERALL).values_list("cohort", flat=True)
    return sorted(set(cohorts), key=lambda c: (c == "all", c))
