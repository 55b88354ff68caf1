"""SANCTIONED_COUNTERPARTY: transfers to a foreign platform an SCC reviewer confirmed as listed on a
sanctions list (screening.SanctionedPlatform), from its listing date on; one flag per operator and
platform. A few sanctioned platforms: one grouped query over their transfers since their dates."""

from django.db.models import Count, Max, Min, Q, Sum

from audits.rules import rows as row_selectors
from audits.rules.base import Candidate, ScanContext, iso, money
from audits.rules.rows import with_rows
from outflows.conditions import day_start
from outflows.models import CrossBorderTransfer, Direction
from screening.models import SanctionedPlatform


def sanctioned_counterparty(*, rule, ctx: ScanContext) -> list[Candidate]:
    sanctioned = {
        s.platform_id: s for s in SanctionedPlatform.objects.select_related("platform", "hit").order_by("platform_id")
    }
    if not sanctioned:
        return []
    since = Q()
    for platform_id, s in sanctioned.items():
        since |= Q(platform_id=platform_id, occurred_at__gte=day_start(s.listed_on))
    groups = (
        CrossBorderTransfer.objects.filter(since)
        .values("operator_id", "platform_id")
        .annotate(
            n=Count("id"),
            value=Sum("value_byn"),
            out=Sum("value_byn", filter=Q(direction=Direction.OUT)),
            inn=Sum("value_byn", filter=Q(direction=Direction.IN)),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
        .order_by("operator_id", "platform_id")
    )
    result = []
    for g in groups:
        op, s = ctx.operators[g["operator_id"]], sanctioned[g["platform_id"]]
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key=f"platform|{s.platform.slug}",
                subject=f"transfers to sanctioned platform {s.platform.slug} since {s.listed_on}",
                evidence=with_rows(
                    row_selectors.sanctioned_counterparty,
                    {
                        "platform": s.platform.slug,
                        "platform_id": s.platform_id,
                        "listed_on": iso(s.listed_on),
                        "list": s.hit.list_name,
                        "list_entry": s.hit.entry_id,
                        "screening_hit": s.hit_id,
                        "transfer_count": g["n"],
                        "value_byn": money(g["value"]),
                        "out_value_byn": money(g["out"] or 0),
                        "in_value_byn": money(g["inn"] or 0),
                        "first_occurred_at": iso(g["first"]),
                        "last_occurred_at": iso(g["last"]),
                    },
                    op.unp,
                ),
                material={"listed_on": iso(s.listed_on), "transfer_count": g["n"], "value_byn": float(g["value"] or 0)},
            )
        )
    return result
