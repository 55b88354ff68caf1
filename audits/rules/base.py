"""What every rule returns, and the context one scan shares between the rules."""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from audits.rules.constants import MINSK
from audits.rules.summary import TransferSummary, transfer_summary
from operators.models import Operator, RegistrationFiling


@dataclass
class Candidate:
    """One violation a rule found now. `key` names the subject; with the rule code and
    the operator's UNP it makes the fingerprint, so it must not change between scans."""

    operator_id: int
    unp: str
    key: str
    subject: str
    evidence: dict
    material: dict = field(default_factory=dict)

    def fingerprint(self, code: str) -> str:
        return hashlib.sha256(f"{code}|{self.unp}|{self.key}".encode()).hexdigest()


@dataclass(frozen=True)
class OperatorRow:
    id: int
    unp: str
    name: str
    status: str
    htp_certificate_valid_until: date
    htp_registered_on: date | None


class ScanContext:
    """Data several rules read, loaded once per scan (one query each)."""

    def __init__(self, *, now: datetime):
        self.now = now
        self.today = now.astimezone(MINSK).date()

    @cached_property
    def operators(self) -> dict[int, OperatorRow]:
        rows = Operator.objects.values_list(
            "id", "unp", "name", "status", "htp_certificate_valid_until", "htp_registered_on"
        )
        return {row[0]: OperatorRow(*row) for row in rows}

    @cached_property
    def operator_by_unp(self) -> dict[str, OperatorRow]:
        return {op.unp: op for op in self.operators.values()}

    @cached_property
    def filings(self) -> list[dict]:
        """Every filing's metadata (not its rows): thousands, not millions."""
        return list(
            RegistrationFiling.objects.values(
                "id",
                "operator_id",
                "kind",
                "period_start",
                "period_end",
                "due_date",
                "submitted_at",
                "processed_at",
                "status",
                "declared_rows",
                "declared_out_byn",
                "declared_in_byn",
                "rows_total",
                "rows_imported",
                "rows_skipped",
                "warnings",
            ).order_by("submitted_at", "id")
        )

    @cached_property
    def transfers(self) -> TransferSummary:
        """The one grouped pass over the transfers that the transfer rules share (rules/summary.py)."""
        return transfer_summary(today=self.today)


def fold(groups, key) -> dict:
    """Sum summary groups by key(group) (None: skip): count, values, first and last time."""
    result: dict = {}
    for g in groups:
        k = key(g)
        if k is None:
            continue
        acc = result.get(k)
        if acc is None:
            result[k] = {
                "n": g["n"],
                "value": g["value"] or 0,
                "out": g["out"] or 0,
                "inn": g["inn"] or 0,
                "first": g["first"],
                "last": g["last"],
                "example_investor": g.get("example_investor"),
            }
            continue
        acc["n"] += g["n"]
        acc["value"] += g["value"] or 0
        acc["out"] += g["out"] or 0
        acc["inn"] += g["inn"] or 0
        acc["first"] = min(acc["first"], g["first"])
        acc["last"] = max(acc["last"], g["last"])
        examples = [e for e in (acc["example_investor"], g.get("example_investor")) if e is not None]
        acc["example_investor"] = min(examples) if examples else None
    return result


def money(value: Decimal | int | None) -> str | None:
    """Money as a decimal string with two places (JSON has no decimals)."""
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal("0.01")))


def iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(MINSK).isoformat()
    return value.isoformat()


def local_date(value: datetime) -> date:
    return value.astimezone(MINSK).date()


def param(rule, name: str, default):
    """A rule parameter from the catalogue, or the rule's default when the supervisor left it out."""
    return (rule.parameters or {}).get(name, default)


# What selects a figure's rows, stored in the evidence under "rows": {figure key: selector}. A selector
# names a list page and its filters ({"list": "transfers", "filters": {"operator": unp, ...}}); the
# flag page links the figure to that list, whose total (and sum) is the figure. The filters are the
# rule's own condition (outflows.conditions where it is more than a column), so they cannot drift.
def rows_selector(list_name: str, **filters) -> dict:
    return {"list": list_name, "filters": {k: str(v) for k, v in filters.items() if v not in (None, "")}}


def transfer_rows(**filters) -> dict:
    """The selectors of the usual transfer figures: count and value of the rows, OUT and IN values."""
    return {
        "transfer_count": rows_selector("transfers", **filters),
        "value_byn": rows_selector("transfers", **filters),
        "out_value_byn": rows_selector("transfers", **filters, direction="OUT"),
        "in_value_byn": rows_selector("transfers", **filters, direction="IN"),
    }


def filing_rows(**lists: list[int]) -> dict:
    """Selectors of lists of filings (evidence key -> ids): the filings page showing exactly them."""
    return {key: rows_selector("filings", id=",".join(map(str, ids))) for key, ids in lists.items() if ids}
