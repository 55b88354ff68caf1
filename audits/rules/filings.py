"""Rules on the filings themselves: MISSING_FILING, LATE_FILING, REJECTED_NOT_RESUBMITTED,
DECLARED_TOTALS_MISMATCH, PROFILE_MISMATCH.

Each reads the filings' metadata once (ScanContext.filings, thousands of rows) and
at most one aggregate over the transfers; no query per operator.
"""

import re
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from audits.rules import rows as row_selectors
from audits.rules.base import Candidate, ScanContext, iso, local_date, money, param
from audits.rules.constants import FILED_STATUSES
from audits.rules.rows import with_rows
from audits.rules.summary import filing_totals
from operators.calendar import FilingCalendarRules, calendar_rules, filing_due_date, periods_owed
from operators.models import FilingKind, FilingStatus, Operator, OperatorProfileRecord


def _due_date(filing: dict, rules: FilingCalendarRules) -> date:
    """The filing's own due date (set by the intake from the calendar), else the calendar's."""
    if filing["due_date"]:
        return filing["due_date"]
    return filing_due_date(kind=filing["kind"], period_end=filing["period_end"], rules=rules)


def missing_filing(*, rule, ctx: ScanContext) -> list[Candidate]:
    """An active operator owes a period whose due date has passed and no accepted filing covers it."""
    rules = calendar_rules()
    covered: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    attempts: dict[tuple[int, str, object], list[int]] = defaultdict(list)
    for f in ctx.filings:
        if f["status"] in FILED_STATUSES:
            covered[(f["operator_id"], f["kind"])].append((f["period_start"], f["period_end"]))
        else:
            attempts[(f["operator_id"], f["kind"], f["period_start"])].append(f["id"])
    result = []
    for op in ctx.operators.values():
        for period in periods_owed(operator=op, today=ctx.today, rules=rules):
            if period.due_date >= ctx.today:
                continue
            spans = covered.get((op.id, period.kind), ())
            if any(start <= period.period_start and end >= period.period_end for start, end in spans):
                continue
            result.append(
                Candidate(
                    operator_id=op.id,
                    unp=op.unp,
                    key=f"{period.kind}|{period.period_start}",
                    subject=f"{period.kind} {period.period_start}–{period.period_end}",
                    evidence=with_rows(
                        row_selectors.missing_filing,
                        {
                            "kind": period.kind,
                            "period_start": iso(period.period_start),
                            "period_end": iso(period.period_end),
                            "due_date": iso(period.due_date),
                            "days_overdue": (ctx.today - period.due_date).days,
                            "unaccepted_filings": attempts.get((op.id, period.kind, period.period_start), []),
                        },
                        op.unp,
                    ),
                    material={"kind": period.kind, "period_start": iso(period.period_start)},
                )
            )
    return result


def late_filing(*, rule, ctx: ScanContext) -> list[Candidate]:
    """The first accepted filing of a period was submitted after its due date (plus `grace_days`)."""
    grace = int(param(rule, "grace_days", 0))
    rules = calendar_rules()
    first: dict[tuple, dict] = {}
    for f in ctx.filings:  # ordered by submitted_at: the first one seen is the earliest
        if f["status"] in FILED_STATUSES:
            first.setdefault((f["operator_id"], f["kind"], f["period_start"]), f)
    result = []
    for (operator_id, kind, period_start), f in first.items():
        op = ctx.operators[operator_id]
        due = _due_date(f, rules)
        submitted = local_date(f["submitted_at"])
        days_late = (submitted - due).days
        if days_late <= grace:
            continue
        result.append(
            Candidate(
                operator_id=operator_id,
                unp=op.unp,
                key=f"{kind}|{period_start}",
                subject=f"{kind} {period_start}–{f['period_end']}",
                evidence={
                    "filing": f["id"],
                    "kind": kind,
                    "period_start": iso(period_start),
                    "period_end": iso(f["period_end"]),
                    "due_date": iso(due),
                    "submitted_at": iso(f["submitted_at"]),
                    "days_late": days_late,
                },
                material={"days_late": days_late},
            )
        )
    return result


def rejected_not_resubmitted(*, rule, ctx: ScanContext) -> list[Candidate]:
    """A filing was rejected and no accepted filing of the same period arrived within `days` (10)."""
    days = int(param(rule, "days", 10))
    accepted: dict[tuple, list[dict]] = defaultdict(list)
    rejected: dict[tuple, list[dict]] = defaultdict(list)
    for f in ctx.filings:
        key = (f["operator_id"], f["kind"], f["period_start"])
        if f["status"] in FILED_STATUSES:
            accepted[key].append(f)
        elif f["status"] == FilingStatus.REJECTED:
            rejected[key].append(f)
    result = []
    for key, rejections in rejected.items():
        unanswered = []
        for r in rejections:
            rejected_at = r["processed_at"] or r["submitted_at"]
            deadline = rejected_at + timedelta(days=days)
            if ctx.now <= deadline:
                continue  # the operator still has time
            if any(a["submitted_at"] <= deadline for a in accepted.get(key, ())):
                continue
            unanswered.append((r, rejected_at, deadline))
        if not unanswered:
            continue
        operator_id, kind, period_start = key
        later = accepted.get(key, [])
        r, rejected_at, deadline = unanswered[0]
        result.append(
            Candidate(
                operator_id=operator_id,
                unp=ctx.operators[operator_id].unp,
                key=f"{kind}|{period_start}",
                subject=f"{kind} {period_start}–{r['period_end']}",
                evidence=with_rows(
                    row_selectors.rejected_not_resubmitted,
                    {
                        "kind": kind,
                        "period_start": iso(period_start),
                        "period_end": iso(r["period_end"]),
                        "rejected_filings": [u[0]["id"] for u in unanswered],
                        "first_rejected_at": iso(rejected_at),
                        "resubmission_deadline": iso(deadline),
                        "accepted_later": [a["id"] for a in later],
                        "accepted_later_at": iso(later[0]["submitted_at"]) if later else None,
                    },
                    ctx.operators[operator_id].unp,
                ),
                material={"rejected_filings": len(unanswered)},
            )
        )
    return result


WARNING_FIELDS = {"declared_rows": "rows", "declared_out_byn": "out_byn", "declared_in_byn": "in_byn"}


def declared_totals_mismatch(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Declared row count, OUT or IN total of an accepted filing differs from its rows.

    The intake compares the declared totals with every row of the file (also rows already on
    record from an earlier filing) and leaves its findings in `warnings`; the row count is
    checked here against `rows_total`. With the parameter `recount_transfers` (off by default:
    a full pass over the transfers) the values are also recounted from the imported transfers,
    for filings whose rows were all imported. Tolerance `value_tolerance_byn` (default 0).
    """
    tolerance = Decimal(str(param(rule, "value_tolerance_byn", "0")))
    filings = [
        f
        for f in ctx.filings
        if f["status"] in FILED_STATUSES
        and f["kind"] in (FilingKind.TRANSFER_REGISTER, FilingKind.CLIENT_REGISTER)
        and (
            f["declared_rows"] is not None
            or f["declared_out_byn"] is not None
            or f["declared_in_byn"] is not None
            or f["warnings"]
        )
    ]
    recount = set()
    if param(rule, "recount_transfers", False):
        recount = {
            f["id"]
            for f in filings
            if f["kind"] == FilingKind.TRANSFER_REGISTER
            and not f["rows_skipped"]
            and (f["declared_out_byn"] is not None or f["declared_in_byn"] is not None)
        }
    sums = filing_totals(filing_ids=sorted(recount)) if recount else {}
    result = []
    for f in filings:
        differences = {}
        if f["declared_rows"] is not None and f["declared_rows"] != f["rows_total"]:
            differences["rows"] = {"declared": f["declared_rows"], "actual": f["rows_total"]}
        if f["id"] in recount:
            actual = sums.get(f["id"], {})
            for name, field, agg in (("out_byn", "declared_out_byn", "out"), ("in_byn", "declared_in_byn", "inn")):
                declared = f[field]
                value = Decimal(actual.get(agg) or 0)
                if declared is not None and abs(declared - value) > tolerance:
                    differences[name] = {
                        "declared": money(declared),
                        "actual": money(value),
                        "difference": money(declared - value),
                        "source": "transfers",
                        "rows": row_selectors.difference_rows(f["id"], name),
                    }
        for w in f["warnings"] or []:
            if isinstance(w, dict) and w.get("code") == "declared_totals_mismatch" and w.get("field") in WARNING_FIELDS:
                differences[WARNING_FIELDS[w["field"]]] = {
                    "declared": w.get("declared"),
                    "actual": w.get("actual"),
                    "source": "intake",
                }
        if not differences:
            continue
        result.append(
            Candidate(
                operator_id=f["operator_id"],
                unp=ctx.operators[f["operator_id"]].unp,
                key=f"filing|{f['id']}",
                subject=f"{f['kind']} {f['period_start']}–{f['period_end']} (#{f['id']})",
                evidence={
                    "filing": f["id"],
                    "kind": f["kind"],
                    "period_start": iso(f["period_start"]),
                    "period_end": iso(f["period_end"]),
                    "differences": differences,
                },
                material={"differences": sorted(differences)},
            )
        )
    return result


_SPACES = re.compile(r"\s+")
_QUOTES = str.maketrans("", "", "«»\"'“”„")


def _norm(value) -> str:
    return _SPACES.sub(" ", str(value or "").translate(_QUOTES)).strip().casefold()


PROFILE_FIELDS = ("unp", "name", "htp_certificate_no", "htp_certificate_valid_until", "activity")


def profile_mismatch(*, rule, ctx: ScanContext) -> list[Candidate]:
    """The operator's latest accepted profile filing disagrees with the registry (UNP, name, ...).

    Names are compared without case, quotes and repeated spaces. Fields: `fields` parameter.
    """
    fields = tuple(param(rule, "fields", PROFILE_FIELDS))
    latest: dict[int, dict] = {}
    for f in ctx.filings:  # ordered by submission: the last one wins
        if f["kind"] == FilingKind.OPERATOR_PROFILE and f["status"] == FilingStatus.ACCEPTED:
            latest[f["operator_id"]] = f
    if not latest:
        return []
    records = OperatorProfileRecord.objects.filter(filing_id__in=[f["id"] for f in latest.values()]).values(
        "operator_id", "filing_id", *fields
    )
    registry = {row["id"]: row for row in Operator.objects.values("id", *fields)}
    result = []
    for rec in records:
        reg = registry.get(rec["operator_id"])
        if reg is None:
            continue
        differences = {
            name: {
                "filed": iso(rec[name]) if hasattr(rec[name], "isoformat") else rec[name],
                "registry": iso(reg[name]) if hasattr(reg[name], "isoformat") else reg[name],
            }
            for name in fields
            if _norm(rec[name]) != _norm(reg[name])
        }
        if not differences:
            continue
        f = latest[rec["operator_id"]]
        result.append(
            Candidate(
                operator_id=rec["operator_id"],
                unp=ctx.operators[rec["operator_id"]].unp,
                key="profile",
                subject=f"operator_profile {f['period_start']}–{f['period_end']} (#{f['id']})",
                evidence={"filing": rec["filing_id"], "differences": differences},
                material={"differences": differences},
            )
        )
    return result
