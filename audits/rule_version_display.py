"""What the rule version pages show: parameter values in Russian number format, the history's rows (who,
when, what changed against the version before) and a stored backtest result in the reader's language."""

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from audits.models import Flag, Rule, RuleVersion
from audits.services.versions import params_diff
from audits.subjects import flag_subject, platform_names_for
from operators.templatetags.portal import number


def param_text(value) -> str:
    """A parameter's value as a page shows it: numbers 1 234,56, yes/no, lists joined; '—' when unset."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("да") if value else _("нет")
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, str):
        try:
            Decimal(value)
        except InvalidOperation:
            return value
        return number(value) if value.strip() not in ("NaN", "Infinity", "-Infinity") else value
    if isinstance(value, list | tuple):
        return ", ".join(param_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def is_code(value) -> bool:
    """A machine value (a field name, a list of them, an object) shown as code rather than as a number."""
    if isinstance(value, bool) or value is None or isinstance(value, int | float | Decimal):
        return False
    if isinstance(value, str):
        try:
            Decimal(value)
        except InvalidOperation:
            return True
        return False
    return True


def param_rows(parameters: dict | None) -> list[tuple[str, str, bool]]:
    """(key, value as shown, shown as code) per parameter, by key."""
    return [(k, param_text(v), is_code(v)) for k, v in sorted((parameters or {}).items())]


def _changes(before: RuleVersion | None, after: RuleVersion) -> list[dict]:
    rows = []
    for change in params_diff(before, after):
        rows.append(
            {
                "key": _("включено") if change["key"] == "enabled" else change["key"],
                "before": param_text(change["before"]),
                "after": param_text(change["after"]),
                "code": is_code(change["before"]) or is_code(change["after"]),
            }
        )
    return rows


def history_rows(versions: list[RuleVersion], *, live: RuleVersion | None, flag_counts: dict[int, int]) -> list[dict]:
    """Newest first: each version with what changed against the one numbered before it."""
    rows = []
    previous = None
    today = timezone.localdate()
    for v in versions:  # by number, ascending
        rows.append(
            {
                "version": v,
                "live": live is not None and v.pk == live.pk,
                "scheduled": v.status != "draft" and v.effective_from is not None and v.effective_from > today,
                "changes": _changes(previous, v) if previous is not None else [],
                "params": param_rows(v.parameters),
                "flags": flag_counts.get(v.pk, 0),
                "backtest": v.backtest if v.backtest_status == "finished" else None,
            }
        )
        if v.status != "draft":
            previous = v
    return list(reversed(rows))


def _entries(rule: Rule, entries: list[dict]) -> list[dict]:
    shaped = [Flag(rule=rule, evidence=e.get("evidence") or {}) for e in entries]
    names = platform_names_for(shaped)
    return [
        {
            **e,
            "subject": flag_subject(flag, platform_names=names),
            "first_day": date.fromisoformat(e["first"]),
            "last_day": date.fromisoformat(e["last"]),
        }
        for e, flag in zip(entries, shaped, strict=True)
    ]


def backtest_view(rule: Rule, version: RuleVersion) -> dict | None:
    """The draft's stored backtest ready for the page, or None before one finished."""
    result = version.backtest
    if not isinstance(result, dict) or "open" not in result:
        return None
    return {
        "from_day": date.fromisoformat(result["from"]),
        "to_day": date.fromisoformat(result["to"]),
        "open": _entries(rule, result["open"]),
        "close": _entries(rule, result["close"]),
        "open_total": result["open_total"],
        "close_total": result["close_total"],
        "operators": result["operators"],
        "counts": [
            {**c, "day": date.fromisoformat(c["date"]), "live_number": n["number"]}
            for c, n in zip(result["counts"], result["live"], strict=True)
        ],
        "seconds": result.get("seconds"),
    }
