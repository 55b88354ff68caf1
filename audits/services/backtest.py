"""A draft rule version tried on history (issue 19 item 3): which flags it would open and close compared
with the version that was live, per operator, over a range of days.

The rule's own function (audits.rules.RULES, the scan's code) runs twice at each evaluation point: with
the draft's parameters and with the version in force that day (audits.services.versions). Nothing is
written: each point runs inside a transaction that is rolled back and read-only (PostgreSQL refuses any
write). On PostgreSQL the registry is also seen as it stood at the end of that day: temporary views of
the same names shadow the transfers (occurred and filed by then), the filings (submitted by then) and the
outflow runs (finished by then); other tables (the registry, platforms, high-risk list, client
registers) are read as they are now. Points: every day of a short range, else about BACKTEST_POINTS
evenly spread days ending with the last.
"""

import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as dtime
from math import ceil

from django.db import connection, transaction
from django.utils import timezone

from auditlog.services import audit_event_record, jsonable
from audits.models import BacktestStatus, Flag, RuleVersion
from audits.rules import RULES
from audits.rules.base import ScanContext
from audits.rules.constants import MINSK
from audits.services.state import User
from audits.services.versions import _effective, rule_with
from operators.models import Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun

BACKTEST_POINTS = 12
# Entries kept per side in the stored result (the counts per operator are always complete).
BACKTEST_KEEP = 500


class _Rollback(Exception):
    pass


def backtest_points(date_from: date, date_to: date, *, most: int = BACKTEST_POINTS) -> list[date]:
    days = (date_to - date_from).days
    if days + 1 <= most:
        return [date_from + timedelta(days=k) for k in range(days + 1)]
    step = ceil(days / (most - 1))
    points = [date_from + timedelta(days=k * step) for k in range(most) if k * step < days]
    return [*points, date_to]


def end_of_day(day: date) -> datetime:
    """The last instant of a Minsk day."""
    return datetime.combine(day + timedelta(days=1), dtime.min, tzinfo=MINSK) - timedelta(microseconds=1)


def _shadow(table: str, condition: str, at: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass",
            [table],
        )
        schema = cursor.fetchone()[0]
        qn = connection.ops.quote_name
        cursor.execute(
            f"CREATE TEMPORARY VIEW {qn(table)} AS SELECT * FROM {qn(schema)}.{qn(table)} WHERE {condition}",  # noqa: S608
            {"at": at},
        )


@contextmanager
def as_of(at: datetime):
    """Read the database as of `at` (see the module's docstring), read-only; everything is rolled back."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                filings = RegistrationFiling._meta.db_table
                _shadow(filings, "submitted_at <= %(at)s", at)
                # Transfers known by then: occurred by then, in a filing submitted by then (the view above).
                known = f"SELECT id FROM pg_temp.{connection.ops.quote_name(filings)}"  # noqa: S608 - a table name
                _shadow(CrossBorderTransfer._meta.db_table, f"occurred_at <= %(at)s AND filing_id IN ({known})", at)
                _shadow(OutflowRun._meta.db_table, "finished_at <= %(at)s", at)
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL transaction_read_only = on")
            yield
            raise _Rollback
    except _Rollback:
        pass


def _entry(cand, code: str, day: date) -> dict:
    return {
        "fingerprint": cand.fingerprint(code),
        "operator_id": cand.operator_id,
        "unp": cand.unp,
        "key": cand.key,
        "evidence": jsonable(cand.evidence),
        "first": day.isoformat(),
        "last": day.isoformat(),
    }


def backtest_compute(*, version: RuleVersion, date_from: date, date_to: date) -> dict:
    """Evaluate the draft and the live version at each point; the fingerprints only the draft finds would
    open, those only the live version finds would close."""
    rule = version.rule
    code = rule.code
    history = list(rule.versions.exclude(pk=version.pk))
    function = RULES.get(code)
    opened: dict[str, dict] = {}
    closed: dict[str, dict] = {}
    counts, live_numbers = [], []
    started = time.monotonic()
    for day in backtest_points(date_from, date_to):
        live = _effective(history, day)
        at = end_of_day(day)
        with as_of(at):
            ctx = ScanContext(now=at)
            draft_found = (
                {c.fingerprint(code): c for c in function(rule=rule_with(rule, version), ctx=ctx)}
                if (function and version.enabled)
                else {}
            )
            live_found = (
                {c.fingerprint(code): c for c in function(rule=rule_with(rule, live), ctx=ctx)}
                if (function and live is not None and live.enabled)
                else {}
            )
        for side, found, other in ((opened, draft_found, live_found), (closed, live_found, draft_found)):
            for fp, cand in found.items():
                if fp in other:
                    continue
                if fp in side:
                    side[fp]["last"] = day.isoformat()
                else:
                    side[fp] = _entry(cand, code, day)
        counts.append({"date": day.isoformat(), "live": len(live_found), "draft": len(draft_found)})
        live_numbers.append({"date": day.isoformat(), "number": live.number if live else None})
    return _result(
        version=version,
        date_from=date_from,
        date_to=date_to,
        opened=opened,
        closed=closed,
        counts=counts,
        live_numbers=live_numbers,
        seconds=round(time.monotonic() - started, 3),
    )


def _result(*, version, date_from, date_to, opened, closed, counts, live_numbers, seconds) -> dict:
    fingerprints = list(opened) + list(closed)
    flags = {
        fp: (pk, status)
        for fp, pk, status in Flag.objects.filter(fingerprint__in=fingerprints).values_list(
            "fingerprint", "id", "status"
        )
    }
    operator_ids = {e["operator_id"] for e in (*opened.values(), *closed.values())}
    names = dict(Operator.objects.filter(pk__in=operator_ids).values_list("id", "name"))
    per_operator: dict[int, dict] = {}
    for side, entries in (("open", opened), ("close", closed)):
        for entry in entries.values():
            entry["flag"], entry["flag_status"] = flags.get(entry["fingerprint"], (None, None))
            entry["name"] = names.get(entry["operator_id"], "")
            row = per_operator.setdefault(
                entry["operator_id"],
                {
                    "operator_id": entry["operator_id"],
                    "unp": entry["unp"],
                    "name": entry["name"],
                    "open": 0,
                    "close": 0,
                },
            )
            row[side] += 1

    def ordered(entries):
        return sorted(entries.values(), key=lambda e: (e["unp"], e["key"]))[:BACKTEST_KEEP]

    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "draft": {"number": version.number, "enabled": version.enabled, "parameters": version.parameters},
        "live": live_numbers,
        "counts": counts,
        "open_total": len(opened),
        "close_total": len(closed),
        "open": ordered(opened),
        "close": ordered(closed),
        "operators": sorted(per_operator.values(), key=lambda r: (-(r["open"] + r["close"]), r["unp"])),
        "seconds": seconds,
        "finished_at": timezone.now().isoformat(),
    }


def backtest_run(*, version_id: int, actor: User = None) -> dict | None:
    """The Celery task's body: run the queued backtest of a draft and store its result on the version.
    A version no longer a draft (published meanwhile) or not queued any more is left alone."""
    version = RuleVersion.objects.select_related("rule").filter(pk=version_id).first()
    if version is None or version.backtest_status not in (BacktestStatus.QUEUED, BacktestStatus.RUNNING):
        return None
    marked = RuleVersion.objects.filter(
        pk=version.pk, backtest_from=version.backtest_from, backtest_to=version.backtest_to
    )
    marked.update(backtest_status=BacktestStatus.RUNNING)
    try:
        result = backtest_compute(version=version, date_from=version.backtest_from, date_to=version.backtest_to)
    except Exception as exc:
        marked.update(backtest_status=BacktestStatus.FAILED, backtest={"error": repr(exc)[:2000]})
        audit_event_record(
            actor=actor, action="rule.version_backtest_failed", obj=version, details={"error": repr(exc)[:500]}
        )
        raise
    # Only if the draft was not changed meanwhile (a change drops its backtest): a stale result is not stored.
    with transaction.atomic():
        stored = marked.filter(status="draft", parameters=version.parameters, enabled=version.enabled).update(
            backtest_status=BacktestStatus.FINISHED, backtest=result
        )
        if stored:
            audit_event_record(
                actor=actor,
                action="rule.version_backtest_finished",
                obj=version,
                details={
                    "from": result["from"],
                    "to": result["to"],
                    "open": result["open_total"],
                    "close": result["close_total"],
                    "operators": len(result["operators"]),
                },
            )
    return result if stored else None
