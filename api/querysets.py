"""The querysets of the two big lists and the latest-run subquery, with the shortcut
API_FAST_PATHS["cached_querysets"] (api/fast_paths.py): built (and the subquery compiled, through
the private `Query.sql_with_params`) once per time zone and cloned for each request; off, built
per request. Measured: bench/README_api.md, "Private-internals shortcuts, measured";
tests/api/test_fast_paths.py pins both ways to the same JSON.
"""

import functools

from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from api import serializers
from api.fast_paths import enabled
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat, RunStatus


def transfers_with_codes() -> QuerySet:
    """Transfers with the two codes the API shows joined in as plain columns (no model per row)."""
    return CrossBorderTransfer.objects.annotate(operator_unp=F("operator__unp"), platform_slug=F("platform__slug"))


def transfers_for_api() -> QuerySet:
    """Transfer rows as the serializer reads them."""
    if not enabled("cached_querysets"):
        return serializers.TransferSerializer.rows(transfers_with_codes())
    return _transfers_for_api(timezone.get_current_timezone_name(), enabled("sql_rows")).all()


# The shortcut API_FAST_PATHS["cached_querysets"]: the two big lists' querysets built once per time
# zone (joins resolved, columns chosen) and cloned for each request, as DRF does with a view's
# `queryset`, never evaluated themselves; the latest-run subquery compiled once. Off: built per request.
@functools.cache
def _transfers_for_api(zone: str, sql_rows: bool) -> QuerySet:
    return serializers.TransferSerializer.rows(transfers_with_codes())


def stats_for_api() -> QuerySet:
    """Outflow stat rows as the serializer reads them."""
    if not enabled("cached_querysets"):
        return serializers.OutflowStatSerializer.rows(OutflowStat.objects.all())
    return _stats_for_api(timezone.get_current_timezone_name(), enabled("sql_rows")).all()


@functools.cache
def _stats_for_api(zone: str, sql_rows: bool) -> QuerySet:
    return serializers.OutflowStatSerializer.rows(OutflowStat.objects.all())


def _latest_finished_run() -> QuerySet:
    return OutflowRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-id").values("id")[:1]


def latest_finished_run_id() -> RawSQL | QuerySet:
    """The latest finished run, as a subquery (no extra round-trip)."""
    if not enabled("cached_querysets"):
        return _latest_finished_run()
    return RawSQL(*_latest_finished_run_sql())  # noqa: S611 - compiled by the ORM, no outside input


@functools.cache
def _latest_finished_run_sql() -> tuple[str, tuple]:
    return _latest_finished_run().query.sql_with_params()
