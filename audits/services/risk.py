"""The operator risk score: what each operator's undecided and confirmed flags weigh."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from audits.models import Flag, FlagStatus, OperatorRisk, Severity
from operators.models import Operator

SEVERITY_POINTS = {Severity.LOW: 1, Severity.MEDIUM: 3, Severity.HIGH: 7, Severity.CRITICAL: 15}
STATUS_FACTOR = {
    FlagStatus.OPEN: Decimal("1"),
    FlagStatus.IN_REVIEW: Decimal("1"),
    FlagStatus.CONFIRMED: Decimal("1.5"),
}


def _age_factor(age_days: int) -> Decimal:
    # Old unresolved violations weigh more, up to three times after six months.
    return Decimal(1) + Decimal(min(max(age_days, 0), 180)) / Decimal(90)


def risk_recompute(*, now: datetime | None = None, operator_ids: list[int] | None = None) -> int:
    """Recompute every operator's risk score (or only `operator_ids`') from its open, in-review and
    confirmed flags: severity points x status factor (confirmed 1.5) x age factor (1 + age/90 days,
    at most 3). Writes only the scores that changed; returns how many."""
    now = now or timezone.now()
    flags = Flag.objects.filter(status__in=list(STATUS_FACTOR))
    operators = Operator.objects.all()
    if operator_ids is not None:
        flags, operators = flags.filter(operator_id__in=operator_ids), operators.filter(pk__in=operator_ids)
    flags = flags.values("id", "operator_id", "rule__code", "severity", "status", "opened_at")
    parts: dict[int, list[dict]] = {}
    for f in flags:
        # A flag the same scan opened has an opened_at a moment after the scan's `now`: 0 days, not -1.
        age = max((now - f["opened_at"]).days, 0)
        points = (SEVERITY_POINTS[f["severity"]] * STATUS_FACTOR[f["status"]] * _age_factor(age)).quantize(
            Decimal("0.01")
        )
        parts.setdefault(f["operator_id"], []).append(
            {
                "flag": f["id"],
                "rule": f["rule__code"],
                "severity": f["severity"],
                "status": f["status"],
                "age_days": age,
                "points": str(points),
            }
        )
    current = {r.operator_id: r for r in OperatorRisk.objects.filter(operator__in=operators)}
    create, update = [], []
    for operator_id in operators.values_list("id", flat=True):
        explanation = sorted(parts.get(operator_id, []), key=lambda p: (-Decimal(p["points"]), p["flag"]))
        score = sum((Decimal(p["points"]) for p in explanation), Decimal("0.00"))
        row = current.get(operator_id)
        if row is None:
            create.append(OperatorRisk(operator_id=operator_id, score=score, explanation=explanation, computed_at=now))
        elif row.score != score or row.explanation != explanation:
            row.score, row.explanation, row.computed_at = score, explanation, now
            update.append(row)
    OperatorRisk.objects.bulk_create(create, batch_size=1000)
    if update:
        OperatorRisk.objects.bulk_update(update, ["score", "explanation", "computed_at"], batch_size=1000)
    return len(create) + len(update)
