"""What selects the rows of each figure a rule puts in its evidence: one function per rule.

A rule calls its function when it writes the evidence ("rows": {figure key: selector}); the flag
page calls the same function for evidence written before selectors were stored (a decided flag
keeps the evidence it was decided on), so old and new flags link their figures alike. Each
function reads only the evidence and the operator's UNP. The conditions themselves live with the
transfers (outflows.conditions, outflows.figures), shared with the rules' own counting.
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace

from audits.rules.base import filing_rows, iso, rows_selector, transfer_rows
from outflows.conditions import after_expiry_from, day_start
from outflows.figures import stat_transfer_filters
from outflows.models import Dimension


def certificate_expired(evidence: dict, unp: str) -> dict:
    """Transfers after expiry: from the first instant after the certificate's last valid day."""
    if "transfer_count" not in evidence or not evidence.get("htp_certificate_valid_until"):
        return {}  # the "expired while active" flag counts no rows
    valid_until = date.fromisoformat(evidence["htp_certificate_valid_until"])
    return transfer_rows(operator=unp, since=iso(after_expiry_from(valid_until)))


def unregistered_client(evidence: dict, unp: str) -> dict:
    """Not in the register (`unregistered=1`), or on dates whose register is due and missing
    (`unregistered=missing`, up to the end of the last period missing when the rule looked: periods
    that fell due since then come later)."""
    if evidence.get("case") == "register_missing":
        until = evidence.get("missing_until")
        last = None
        if until:
            last = iso(day_start(date.fromisoformat(until) + timedelta(days=1)) - timedelta(microseconds=1))
        return transfer_rows(operator=unp, unregistered="missing", until=last)
    return transfer_rows(operator=unp, unregistered="1")


def unknown_platform(evidence: dict, unp: str) -> dict:
    return transfer_rows(operator=unp, platform=evidence.get("platform"))


def high_risk_jurisdiction(evidence: dict, unp: str) -> dict:
    return transfer_rows(operator=unp, country=evidence.get("country"))


def sanctioned_counterparty(evidence: dict, unp: str) -> dict:
    """Transfers to the sanctioned platform from the first instant of its listing day in Minsk."""
    listed = day_start(date.fromisoformat(evidence["listed_on"]))
    return transfer_rows(operator=unp, platform=evidence.get("platform"), since=iso(listed))


def platform_rows(unp: str, slug: str) -> dict:
    """One platform's part of a high-risk country's transfers."""
    return rows_selector("transfers", operator=unp, platform=slug)


def difference_rows(filing_id: int, name: str) -> dict:
    """A declared total recounted from the filing's transfers (out_byn / in_byn)."""
    return rows_selector("transfers", filing=filing_id, direction="OUT" if name == "out_byn" else "IN")


def high_non_return(evidence: dict, unp: str) -> dict:
    """The run's matured (and pending) outbounds of the operator, and its stat row."""
    if not evidence.get("as_of") or evidence.get("window_days") is None:
        return {}
    run = SimpleNamespace(as_of=datetime.fromisoformat(evidence["as_of"]), window_days=int(evidence["window_days"]))
    row_of = {"run": run, "dimension": Dimension.OPERATOR, "key": unp, "cohort": "all"}
    matured = rows_selector("transfers", **stat_transfer_filters(**row_of))
    cell = {"run": evidence.get("run"), "dimension": "operator", "key": unp, "cohort": "all"}
    # What came back and what did not: the run's cell drilled down to its outbounds, each with what came
    # back to it (outflows.drill_views); its matured sums equal the stored row to the kopeck, checked there.
    allocated = rows_selector("drilldown", **cell)
    return {
        "outbound_value_byn": matured,
        "outbound_count": matured,
        "returned_value_byn": allocated,
        "unreturned_value_byn": allocated,
        "pending_outbound_value_byn": rows_selector("transfers", **stat_transfer_filters(**row_of, pending=True)),
        "non_return_share": rows_selector("stats", **cell),
    }


def non_return_trend(evidence: dict, unp: str) -> dict:
    """The cohort's stat row in both runs, and the matured outbounds each counts."""
    if not evidence.get("cohort") or evidence.get("window_days") is None:
        return {}
    cohort, window = evidence["cohort"], int(evidence["window_days"])
    selectors = {}
    for prefix, run_key, as_of_key in (("", "run", "as_of"), ("previous_", "previous_run", "previous_as_of")):
        if not evidence.get(as_of_key):
            continue
        run = SimpleNamespace(as_of=datetime.fromisoformat(evidence[as_of_key]), window_days=window)
        selectors[f"{prefix}outbound_value_byn"] = rows_selector(
            "transfers", **stat_transfer_filters(run=run, dimension=Dimension.OPERATOR, key=unp, cohort=cohort)
        )
        selectors[f"{prefix}non_return_share"] = rows_selector(
            "stats", run=evidence.get(run_key), dimension="operator", key=unp, cohort=cohort
        )
    return selectors


def missing_filing(evidence: dict, unp: str) -> dict:
    return filing_rows(unaccepted_filings=evidence.get("unaccepted_filings") or [])


def rejected_not_resubmitted(evidence: dict, unp: str) -> dict:
    return filing_rows(
        rejected_filings=evidence.get("rejected_filings") or [], accepted_later=evidence.get("accepted_later") or []
    )


def _none(evidence: dict, unp: str) -> dict:
    """A single filing (linked as itself) or differences recounted per field (difference_rows)."""
    return {}


ROWS = {
    "LATE_FILING": _none,
    "MISSING_FILING": missing_filing,
    "REJECTED_NOT_RESUBMITTED": rejected_not_resubmitted,
    "CERTIFICATE_EXPIRED": certificate_expired,
    "UNREGISTERED_CLIENT": unregistered_client,
    "UNKNOWN_PLATFORM": unknown_platform,
    "HIGH_RISK_JURISDICTION": high_risk_jurisdiction,
    "DECLARED_TOTALS_MISMATCH": _none,
    "HIGH_NON_RETURN": high_non_return,
    "NON_RETURN_TREND": non_return_trend,
    "PROFILE_MISMATCH": _none,
    "SANCTIONED_COUNTERPARTY": sanctioned_counterparty,
}


def rows_of(code: str, evidence: dict, unp: str) -> dict:
    """The evidence's stored selectors, else those its rule's function gives (evidence from before them)."""
    if isinstance(evidence.get("rows"), dict):
        return evidence["rows"]
    function = ROWS.get(code)
    try:
        return function(evidence, unp) if function else {}
    except (KeyError, TypeError, ValueError):
        return {}  # evidence of another shape: no links rather than wrong ones


def with_rows(function, evidence: dict, unp: str) -> dict:
    """The evidence with its figures' selectors (`function`: this module's function of the rule)."""
    return {**evidence, "rows": function(evidence, unp)}
