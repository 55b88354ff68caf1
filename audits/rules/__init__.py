"""The violation rules of DESIGN section 6, by code.

A rule is a function `(*, rule: Rule, ctx: ScanContext) -> list[Candidate]`: a
set-based query over the whole registry (a fixed number of queries whatever
the number of operators) returning what is wrong now, with evidence.
"""

from audits.rules import transfers
from audits.rules.filings import (
    declared_totals_mismatch,
    late_filing,
    missing_filing,
    profile_mismatch,
    rejected_not_resubmitted,
)
from audits.rules.outflow import high_non_return, non_return_trend
from audits.rules.sanctions import sanctioned_counterparty
from audits.rules.transfers import certificate_expired, high_risk_jurisdiction, unknown_platform, unregistered_client

RULES = {
    "LATE_FILING": late_filing,
    "MISSING_FILING": missing_filing,
    "REJECTED_NOT_RESUBMITTED": rejected_not_resubmitted,
    "CERTIFICATE_EXPIRED": certificate_expired,
    "UNREGISTERED_CLIENT": unregistered_client,
    "UNKNOWN_PLATFORM": unknown_platform,
    "HIGH_RISK_JURISDICTION": high_risk_jurisdiction,
    "DECLARED_TOTALS_MISMATCH": declared_totals_mismatch,
    "HIGH_NON_RETURN": high_non_return,
    "NON_RETURN_TREND": non_return_trend,
    "PROFILE_MISMATCH": profile_mismatch,
    "SANCTIONED_COUNTERPARTY": sanctioned_counterparty,
}

# Rules that read ScanContext.transfers (the shared passes over the transfers table): those of
# rules/transfers.py, whose module says so; a rule added there is one without further ado.
TRANSFER_RULES = frozenset(code for code, rule in RULES.items() if rule.__module__ == transfers.__name__)
