"""Coverage of a run by the transfer registers (issue 17, item 4).

Per operator and calendar month from the run's first cohort to the month of
as_of, the state of its transfer register:

* ``accepted``: an accepted register covers the month, first submitted by its due date;
* ``late``: covered, first submitted after its due date;
* ``superseded``: covered, and the month was resubmitted (an accepted register replaced another);
* ``missing``: no accepted register covers the month and its due date was before as_of;
* ``not_due``: nothing filed yet and not due at as_of (nothing can be asked for yet);
* ``not_owed``: before the operator owed registers (REPORTING_START, its HTP registration), none filed.

A missing register that would hold IN rows inflates the share, so a matured
outbound of month m has complete coverage when its operator's registers of
month m and of every month its return window reaches (up to as_of) are not
missing. The run stores the share of matured outbound value with complete
coverage, overall and per operator, and the operators with gaps. Reads the
filings' metadata only (one query), and the run's own cells.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from operators.calendar import calendar_rules, filing_due_date, reporting_start
from operators.models import FilingKind, FilingStatus, Operator, OperatorStatus, RegistrationFiling
from outflows.engine import M_OUTBOUND, MINSK

ACCEPTED, LATE, SUPERSEDED, MISSING, NOT_DUE = "accepted", "late", "superseded", "missing", "not_due"
NOT_OWED = "not_owed"
STATES = (ACCEPTED, LATE, SUPERSEDED, MISSING, NOT_DUE, NOT_OWED)
FILED = (FilingStatus.ACCEPTED, FilingStatus.SUPERSEDED)


def _month(label: str) -> tuple[dt.date, dt.date]:
    year, month = (int(part) for part in label.split("-"))
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def _labels(first: dt.date, last: dt.date) -> list[str]:
    labels, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        labels.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def _share(part: int, whole: int) -> str | None:
    if whole == 0:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.000001")))


def _byn(kopecks: int) -> str:
    return str(Decimal(int(kopecks)).scaleb(-2))


def month_state(filings: list[dict], *, start: dt.date, end: dt.date, due: dt.date, as_of_day: dt.date) -> str:
    """The state of one operator-month from the operator's filed transfer registers (dicts of the model's values)."""
    covering = [f for f in filings if f["period_start"] <= end and f["period_end"] >= start]
    if not covering:
        return MISSING if due < as_of_day else NOT_DUE
    if any(f["status"] == FilingStatus.SUPERSEDED for f in covering):
        return SUPERSEDED
    first = min(f["submitted_at"] for f in covering).astimezone(MINSK).date()
    return LATE if first > due else ACCEPTED


def run_coverage(*, as_of: dt.datetime, window_days: int, cells: dict) -> dict:
    """The coverage a run stores (OutflowRun.coverage), from its cells (dimension, key, cohort) -> metrics."""
    cohorts = sorted({cohort for (dimension, _key, cohort) in cells if dimension == "operator" and cohort != "all"})
    as_of_day = as_of.astimezone(MINSK).date()
    first = _month(cohorts[0])[0] if cohorts else as_of_day.replace(day=1)
    labels = _labels(first, as_of_day)
    with_cells = {key for (dimension, key, _cohort) in cells if dimension == "operator"}
    operators = [
        op
        for op in Operator.objects.order_by("unp").values("id", "unp", "name", "status", "htp_registered_on")
        if op["unp"] in with_cells or op["status"] == OperatorStatus.ACTIVE
    ]
    filings: dict[int, list[dict]] = defaultdict(list)
    for f in RegistrationFiling.objects.filter(
        kind=FilingKind.TRANSFER_REGISTER, status__in=FILED, operator_id__in=[op["id"] for op in operators]
    ).values("operator_id", "period_start", "period_end", "status", "submitted_at"):
        filings[f["operator_id"]].append(f)
    rules = calendar_rules()
    bounds = {label: _month(label) for label in labels}
    due = {label: filing_due_date(kind=FilingKind.TRANSFER_REGISTER, period_end=end, rules=rules)
           for label, (_start, end) in bounds.items()}  # fmt: skip
    reported = {(key, cohort) for (dimension, key, cohort), m in cells.items() if dimension == "operator" and m.any()}
    result_operators: dict[str, dict] = {}
    total = complete_total = 0
    for op in operators:
        # Registers are owed for the months from the later of REPORTING_START and the HTP registration.
        owes_from = max(reporting_start(), op["htp_registered_on"] or reporting_start())
        states = {}
        for label in labels:
            start, end = bounds[label]
            state = month_state(filings[op["id"]], start=start, end=end, due=due[label], as_of_day=as_of_day)
            if start < owes_from and state in (MISSING, NOT_DUE):
                if (op["unp"], label) not in reported:
                    continue  # before the operator owed registers, and nothing reported then
                state = NOT_OWED
            states[label] = state
        outbound = complete = 0
        for label in labels:
            cell = cells.get(("operator", op["unp"], label))
            if cell is None or int(cell[M_OUTBOUND]) == 0:
                continue
            value = int(cell[M_OUTBOUND])
            outbound += value
            # The months its returns may arrive in: to the end of its window, and not after as_of.
            reach = min(bounds[label][1] + dt.timedelta(days=window_days), as_of_day)
            needed = [m for m in labels if m >= label and bounds[m][0] <= reach]
            if all(states.get(m) != MISSING for m in needed):
                complete += value
        gaps = sorted(m for m, state in states.items() if state == MISSING)
        if not states and outbound == 0:
            continue
        result_operators[op["unp"]] = {
            "name": op["name"],
            "states": states,
            "missing": gaps,
            "late": sorted(m for m, state in states.items() if state == LATE),
            "superseded": sorted(m for m, state in states.items() if state == SUPERSEDED),
            "outbound_byn": _byn(outbound),
            "complete_byn": _byn(complete),
            "complete_share": _share(complete, outbound),
        }
        total += outbound
        complete_total += complete
    return {
        "months": labels,
        "operators": result_operators,
        "outbound_byn": _byn(total),
        "complete_byn": _byn(complete_total),
        "complete_share": _share(complete_total, total),
        "gaps": [unp for unp, entry in result_operators.items() if entry["missing"]],
    }
