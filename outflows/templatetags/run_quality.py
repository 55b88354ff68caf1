"""How far a run's figure can be trusted, beside it: its bootstrap interval and the registers' coverage
(issue 17, items 4 and 5). `{% run_quality run %}` on the dashboard, `{% run_quality run full=True %}` on the
run page (every operator's months). Reads only the run's stored JSON and, for links, the operators' ids."""

from django import template

from operators.models import Operator
from outflows.coverage import LATE, MISSING, STATES, SUPERSEDED

register = template.Library()


def month_label(label: str) -> str:
    """'2025-04' -> '04.2025'."""
    year, _, month = label.partition("-")
    return f"{month}.{year}" if month else label


def _operator_rows(coverage: dict, *, full: bool) -> list[dict]:
    entries = coverage.get("operators") or {}
    wanted = [unp for unp, e in entries.items() if full or e.get("missing") or e.get("late") or e.get("superseded")]
    ids = dict(Operator.objects.filter(unp__in=wanted).values_list("unp", "pk"))
    rows = []
    for unp in wanted:
        e = entries[unp]
        rows.append(
            {
                "unp": unp,
                "name": e.get("name") or unp,
                "id": ids.get(unp),
                "missing": [month_label(m) for m in e.get("missing") or []],
                "late": [month_label(m) for m in e.get("late") or []],
                "superseded": [month_label(m) for m in e.get("superseded") or []],
                "complete_share": e.get("complete_share"),
                "outbound_byn": e.get("outbound_byn"),
                "states": [(month_label(m), e.get("states", {}).get(m, "")) for m in coverage.get("months") or []],
            }
        )
    rows.sort(key=lambda r: (-len(r["missing"]), -len(r["late"]), r["name"].casefold()))
    return rows


@register.inclusion_tag("outflows/_run_quality.html")
def run_quality(run, full: bool = False) -> dict:
    uncertainty = getattr(run, "uncertainty", None) or {}
    coverage = getattr(run, "coverage", None) or {}
    intervals = uncertainty.get("operators") or {}
    rows = _operator_rows(coverage, full=full) if coverage else []
    for row in rows:
        row["interval"] = intervals.get(row["unp"])
    gaps = [r for r in rows if r["missing"]]
    shown = gaps if full else gaps[:5]
    level = uncertainty.get("level")
    return {
        "run": run,
        "full": full,
        "level_percent": round(float(level) * 100) if level else None,
        "shown_gaps": shown,
        "more_gaps": len(gaps) - len(shown),
        "interval": uncertainty.get("overall"),
        "level": uncertainty.get("level"),
        "resamples": uncertainty.get("resamples"),
        "coverage": coverage,
        "rows": rows,
        "gaps": gaps,
        "months": [month_label(m) for m in coverage.get("months") or []],
        "states": STATES,
        "MISSING": MISSING,
        "LATE": LATE,
        "SUPERSEDED": SUPERSEDED,
    }
