"""How far a run's figure can be trusted, beside it: its bootstrap interval and the registers' coverage
(issue 17, items 4 and 5). `{% run_quality run %}` on the dashboard, `{% run_quality run full=True %}` on the
run page (every operator's months), `{% operator_run_quality run unp %}` on an operator's dossier (its own
interval and months only). Reads only the run's stored JSON and, for links, the operators' ids."""

from django import template
from django.utils.translation import gettext_lazy as _

from operators.models import Operator
from operators.templatetags.portal import number
from outflows.coverage import ACCEPTED, LATE, MISSING, NOT_DUE, NOT_OWED, STATES, SUPERSEDED

register = template.Library()

STATE_LABELS = {
    ACCEPTED: _("принят"),
    LATE: _("с опозданием"),
    SUPERSEDED: _("заменён"),
    MISSING: _("не подан"),
    NOT_DUE: _("срок не наступил"),
    NOT_OWED: _("не требовался"),
}
# An operator's interval from fewer distinct investors says nothing: one investor's resamples all give its share.
MIN_INTERVAL_INVESTORS = 2


@register.filter
def coverage_state(state: str) -> str:
    """A month's register state (outflows.coverage) in words: 'missing' -> 'не подан'; none -> '·'."""
    label = STATE_LABELS.get(state)
    return str(label) if label is not None else "·"


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


def _operator_interval(uncertainty: dict, unp: str) -> dict:
    """The operator's interval as the dossier says it: state ok | none | too_few | not_computed."""
    if not uncertainty:
        return {"state": "not_computed"}
    entry = (uncertainty.get("operators") or {}).get(unp) or {}
    investors = int(entry.get("investors") or 0)
    if entry.get("low") is None or entry.get("high") is None or investors == 0:
        return {"state": "none"}
    if investors < MIN_INTERVAL_INVESTORS:
        return {"state": "too_few", "investors": investors}
    at_least = "\u2265\u00a0" if entry.get("investors_at_least") else ""
    return {"state": "ok", "low": entry["low"], "high": entry["high"], "investors_text": at_least + number(investors)}


def _operator_coverage(coverage: dict, unp: str) -> dict | None:
    """The operator's months of the run's window that are not simply accepted, and its complete share
    when the run stores one per operator. None when the run recorded no coverage."""
    if not coverage:
        return None
    months = coverage.get("months") or []
    entry = (coverage.get("operators") or {}).get(unp)
    if entry is None:
        return {"known": False, "first": months and month_label(months[0]), "last": months and month_label(months[-1])}
    states = entry.get("states") or {}
    return {
        "known": True,
        "first": months and month_label(months[0]),
        "last": months and month_label(months[-1]),
        # By state, gaps first; accepted and not-owed months are in order (absent ones: not owed, empty).
        "exceptions": [
            {"state": state, "months": [month_label(m) for m in months if states.get(m) == state]}
            for state in (MISSING, LATE, SUPERSEDED, NOT_DUE)
            if state in states.values()
        ],
        "has_share": "complete_share" in entry,
        "complete_share": entry.get("complete_share"),
    }


@register.inclusion_tag("outflows/_operator_quality.html")
def operator_run_quality(run, unp: str) -> dict:
    """One operator's interval and register coverage in the run: for its dossier, nothing of other operators."""
    uncertainty = getattr(run, "uncertainty", None) or {}
    level = uncertainty.get("level")
    return {
        "run": run,
        "unp": unp,
        "level_percent": round(float(level) * 100) if level else None,
        "interval": _operator_interval(uncertainty, unp),
        "coverage": _operator_coverage(getattr(run, "coverage", None) or {}, unp),
    }
