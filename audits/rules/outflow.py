"""Rules on the outflow runs: HIGH_NON_RETURN (the operator's matured non-return share in the latest
finished run is high) and NON_RETURN_TREND (an operator's cohort share moved between two consecutive
runs with the same window)."""

from decimal import Decimal

from audits.rules import rows as row_selectors
from audits.rules.base import Candidate, ScanContext, iso, money, param
from audits.rules.rows import with_rows
from outflows.models import Dimension, OutflowRun, OutflowStat, RunStatus


def _latest_runs():
    return OutflowRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-id")


def _guarded(interval: dict | None, *, min_investors: int, lower_bound: bool, threshold: Decimal) -> bool:
    """The guardrails of HIGH_NON_RETURN hold for an operator's bootstrap entry (run.uncertainty).

    A run without an interval (computed before them) passes only when neither guard is asked for.
    """
    if not min_investors and not lower_bound:
        return True
    if not interval:
        return False
    if int(interval.get("investors") or 0) < min_investors:
        return False
    return not lower_bound or (interval.get("low") is not None and Decimal(interval["low"]) > threshold)


def _interval_evidence(run: OutflowRun, interval: dict | None) -> dict:
    if not interval:
        return {}
    return {
        "interval_low_share": interval.get("low"),
        "interval_high_share": interval.get("high"),
        "confidence_share": str(run.uncertainty.get("level", "")),
        "bootstrap_resamples": run.uncertainty.get("resamples"),
        "outbound_investors": interval.get("investors"),
    }


def high_non_return(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Operator row (cohort "all") of the latest finished run with non_return_share > `threshold` (0.5)
    and matured outbound value >= `min_outbound_byn` (0), so tiny volumes do not flag.

    Guardrails (issue 17): `min_outbound_investors` (0) distinct investors with a matured outbound at
    the operator, and `interval_above_threshold` (false): flag only when the lower bound of the run's
    bootstrap interval (outflows.uncertainty) is above the threshold too. The evidence shows the interval.
    """
    threshold = Decimal(str(param(rule, "threshold", "0.5")))
    min_outbound = Decimal(str(param(rule, "min_outbound_byn", "0")))
    min_investors = int(param(rule, "min_outbound_investors", 0) or 0)
    lower_bound = bool(param(rule, "interval_above_threshold", False))
    run = _latest_runs().first()
    if run is None:
        return []
    intervals = (run.uncertainty or {}).get("operators") or {}
    stats = OutflowStat.objects.filter(
        run=run,
        dimension=Dimension.OPERATOR,
        cohort="all",
        non_return_share__gt=threshold,
        outbound_value_byn__gte=min_outbound,
    ).values()
    result = []
    for s in stats:
        op = ctx.operator_by_unp.get(s["key"])
        interval = intervals.get(s["key"])
        if op is None or not _guarded(
            interval, min_investors=min_investors, lower_bound=lower_bound, threshold=threshold
        ):
            continue
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key="share",
                subject=f"non-return share {s['non_return_share']} (run #{run.pk})",
                evidence=with_rows(
                    row_selectors.high_non_return,
                    {
                        "run": run.pk,
                        "as_of": iso(run.as_of),
                        "window_days": run.window_days,
                        "non_return_share": str(s["non_return_share"]),
                        "threshold": str(threshold),
                        "outbound_value_byn": money(s["outbound_value_byn"]),
                        "returned_value_byn": money(s["returned_value_byn"]),
                        "unreturned_value_byn": money(s["unreturned_value_byn"]),
                        "pending_outbound_value_byn": money(s["pending_outbound_value_byn"]),
                        "outbound_count": s["outbound_count"],
                        **_interval_evidence(run, interval),
                    },
                    op.unp,
                ),
                material={"non_return_share": float(s["non_return_share"])},
            )
        )
    return result


def _consecutive_runs() -> tuple[OutflowRun, OutflowRun] | tuple[None, None]:
    """The latest finished run and the finished run before it with the same window (None, None: none such)."""
    latest = _latest_runs().first()
    if latest is None:
        return None, None
    previous = (
        _latest_runs()
        .filter(window_days=latest.window_days, finished_at__lte=latest.finished_at)
        .exclude(pk=latest.pk)
        .first()
    )
    return (latest, previous) if previous else (None, None)


def non_return_trend(*, rule, ctx: ScanContext) -> list[Candidate]:
    """An operator's cohort share moved by more than `points` (10) percentage points between the latest
    finished run and the one before it with the same window; cohorts whose matured outbound value is
    below `min_outbound_byn` (0) in either run do not count. One flag per operator and cohort."""
    points = Decimal(str(param(rule, "points", "10")))
    min_outbound = Decimal(str(param(rule, "min_outbound_byn", "0")))
    latest, previous = _consecutive_runs()
    if latest is None:
        return []
    cells = {}
    for s in (
        OutflowStat.objects.filter(
            run__in=[latest, previous],
            dimension=Dimension.OPERATOR,
            non_return_share__isnull=False,
            outbound_value_byn__gte=min_outbound,
        )
        .exclude(cohort="all")
        .values("run_id", "key", "cohort", "non_return_share", "outbound_value_byn")
    ):
        cells[(s["run_id"], s["key"], s["cohort"])] = s
    result = []
    for (run_id, unp, cohort), now in sorted(cells.items()):
        before = cells.get((previous.pk, unp, cohort))
        op = ctx.operator_by_unp.get(unp)
        if run_id != latest.pk or before is None or op is None:
            continue
        change = (now["non_return_share"] - before["non_return_share"]) * 100
        if abs(change) <= points:
            continue
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key=f"cohort|{cohort}|{latest.window_days}",
                subject=f"cohort {cohort} share {before['non_return_share']} -> {now['non_return_share']}",
                evidence=with_rows(
                    row_selectors.non_return_trend,
                    {
                        "cohort": cohort,
                        "run": latest.pk,
                        "as_of": iso(latest.as_of),
                        "previous_run": previous.pk,
                        "previous_as_of": iso(previous.as_of),
                        "window_days": latest.window_days,
                        "non_return_share": str(now["non_return_share"]),
                        "previous_non_return_share": str(before["non_return_share"]),
                        "change_points": str(change.quantize(Decimal("0.01"))),
                        "points": str(points),
                        "outbound_value_byn": money(now["outbound_value_byn"]),
                        "previous_outbound_value_byn": money(before["outbound_value_byn"]),
                    },
                    op.unp,
                ),
                material={"non_return_share": float(now["non_return_share"])},
            )
        )
    return result
