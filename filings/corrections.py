"""Corrections with a reason (issue 18 item 4): a period filed again says why.

A resubmission is an upload for an operator, kind and period that already has a filing. The upload page
asks its reason (category and free text) and may cite the SCC's data request that prompted it; the reason
is stored beside the new filing (filings.models.FilingCorrection) with the filing it follows. Supersession
(DESIGN section 3: the later accepted filing of a period replaces the earlier one) is unchanged.

Data requests live in the casework app, above this layer: it offers them through `data_request_sources`
(``source(operator_id=) -> [(id, label)]``, the operator's open requests), filled in its AppConfig.ready().
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from operators.models import Operator, RegistrationFiling

from .models import CorrectionCategory, FilingCorrection

data_request_sources: list[Callable[..., list[tuple[int, str]]]] = []


def provide_data_requests(source: Callable[..., list[tuple[int, str]]]) -> None:
    """``source(operator_id=)`` -> the (id, label) of the operator's data requests a correction may cite."""
    if source not in data_request_sources:
        data_request_sources.append(source)


def data_request_choices(*, operator_id: int) -> list[tuple[int, str]]:
    return [choice for source in data_request_sources for choice in source(operator_id=operator_id)]


@dataclass(frozen=True)
class Correction:
    category: str
    reason: str
    data_request_id: int | None = None

    def __post_init__(self):
        if self.category not in CorrectionCategory.values:
            raise ValueError(f"unknown correction category {self.category!r}")
        if not self.reason.strip():
            raise ValueError("a correction states its reason")


def period_latest(
    *, operator: Operator, kind: str, period_start: date, period_end: date, before: RegistrationFiling | None = None
) -> RegistrationFiling | None:
    """The latest filing of the period (any status), not counting `before` and later ones."""
    filings = RegistrationFiling.objects.filter(
        operator=operator, kind=kind, period_start=period_start, period_end=period_end
    )
    if before is not None:
        filings = filings.exclude(pk=before.pk).filter(pk__lt=before.pk)
    return filings.order_by("-submitted_at", "-pk").first()


def correction_record(*, filing: RegistrationFiling, correction: Correction) -> FilingCorrection:
    """Store the reason of `filing` (inside the transaction that stores the filing)."""
    previous = period_latest(
        operator=filing.operator,
        kind=filing.kind,
        period_start=filing.period_start,
        period_end=filing.period_end,
        before=filing,
    )
    return FilingCorrection.objects.create(
        filing=filing,
        previous=previous,
        category=correction.category,
        reason=correction.reason.strip(),
        data_request_id=correction.data_request_id,
    )


def period_versions(*, filings: list[RegistrationFiling]) -> dict[int, FilingCorrection]:
    """The reasons of these filings, by filing id (one query)."""
    return {c.filing_id: c for c in FilingCorrection.objects.filter(filing__in=[f.pk for f in filings])}


def correction_context(*, operator_id: int, resubmission: bool) -> dict | None:
    """What a page asking for a resubmission's reason offers (None when it is the period's first filing)."""
    if not resubmission:
        return None
    return {"categories": CorrectionCategory.choices, "requests": data_request_choices(operator_id=operator_id)}


def correction_from_post(post, *, operator_id: int) -> Correction:
    """The reason posted with a resubmission; ValueError when it is missing or cites another's request."""
    request_id = str(post.get("data_request", "")).strip()
    cited = int(request_id) if request_id.isdigit() else None
    if cited is not None and cited not in {pk for pk, _label in data_request_choices(operator_id=operator_id)}:
        raise ValueError("the data request is not this operator's")
    return Correction(str(post.get("correction_category", "")), str(post.get("correction_reason", ""))[:2000], cited)
