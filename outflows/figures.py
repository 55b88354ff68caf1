"""Which transfers a published figure is made of, as the transfers page's filters.

A run's stat row counts and sums the matured outbounds (OUT, occurred_at <= as_of - window,
outflows.engine) of its key (operator UNP, platform slug, country code or everything) and
cohort (a calendar month in Minsk, or "all"); its pending outbounds are the OUT transfers after
that instant up to as_of. The dashboard, the dossier, the statistics page and the HIGH_NON_RETURN
flag all link their figures through these functions, so a figure and its list agree.
"""

from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.urls import reverse

from outflows.models import Dimension, OutflowRun

MINSK = ZoneInfo("Europe/Minsk")
KEY_FILTER = {Dimension.OPERATOR: "operator", Dimension.PLATFORM: "platform", Dimension.COUNTRY: "country"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(MINSK).isoformat()


def matured_until(run: OutflowRun) -> datetime:
    """The last instant an outbound may have occurred at to be matured in this run."""
    return run.as_of - timedelta(days=run.window_days)


def _cohort_bounds(cohort: str) -> tuple[datetime, datetime] | None:
    """A "YYYY-MM" cohort's first and last instant in Minsk; None for "all" or anything else."""
    try:
        year, month = (int(part) for part in cohort.split("-"))
        start = datetime(year, month, 1, tzinfo=MINSK)
    except ValueError:
        return None
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=MINSK)
    return start, following - timedelta(microseconds=1)


def stat_transfer_filters(
    *, run: OutflowRun, dimension: str, key: str, cohort: str = "all", pending: bool = False
) -> dict[str, str]:
    """The transfers page's filters listing the outbounds a stat row counts (matured, or `pending`)."""
    filters = {"direction": "OUT"}
    if dimension in KEY_FILTER:
        filters[KEY_FILTER[dimension]] = key
    elif dimension in (Dimension.OPERATOR_PLATFORM, Dimension.OPERATOR_COUNTRY):  # "UNP:slug" / "UNP:CC"
        unp, _, other = key.partition(":")
        filters["operator"] = unp
        filters["platform" if dimension == Dimension.OPERATOR_PLATFORM else "country"] = other
    since, until = None, matured_until(run)
    if pending:
        since, until = matured_until(run) + timedelta(microseconds=1), run.as_of
    bounds = _cohort_bounds(cohort)
    if bounds is not None:
        since = max(since, bounds[0]) if since else bounds[0]
        until = min(until, bounds[1])
    if since is not None:
        filters["since"] = _iso(since)
    filters["until"] = _iso(until)
    return filters


def transfers_url(filters: dict) -> str:
    return f"{reverse('outflows:transfers')}?{urlencode({k: v for k, v in filters.items() if v not in (None, '')})}"


def stat_transfers_url(run: OutflowRun, stat, *, pending: bool = False) -> str:
    """The list of the transfers a stat row (an OutflowStat) counts: its total is outbound_count."""
    return transfers_url(
        stat_transfer_filters(run=run, dimension=stat.dimension, key=stat.key, cohort=stat.cohort, pending=pending)
    )


def run_input_url(run: OutflowRun) -> str:
    """The transfers a run read (occurred_at <= as_of, outflows.readers): its total is input_rows."""
    return transfers_url({"until": _iso(run.as_of)})
