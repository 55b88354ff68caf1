"""HIGH_NON_RETURN: the operator's matured non-return share (latest finished outflow run) is high."""

from decimal import Decimal

from audits.rules import rows as row_selectors
from audits.rules.base import Candidate, ScanContext, iso, money, param
from audits.rules.rows import with_rows
from outflows.models import Dimension, OutflowRun, OutflowStat, RunStatus


def high_non_return(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Operator row (cohort "all") of the latest finished run with non_return_share > `threshold` (0.5)
    and matured outbound value >= `min_outbound_byn` (0), so tiny volumes do not flag."""
    threshold = Decimal(str(param(rule, "threshold", "0.5")))
    min_outbound = Decimal(str(param(rule, "min_outbound_byn", "0")))
    run = OutflowRun.objects.filter(status=RunStatus.FINISHED).order_by("-finished_at", "-id").first()
    if run is None:
        return []
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
        if op is None:
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
                    },
                    op.unp,
                ),
                material={"non_return_share": float(s["non_return_share"])},
            )
        )
    return result
