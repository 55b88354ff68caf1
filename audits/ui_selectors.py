"""Reads behind the auditors' pages: the dashboard, the flagged-operator queue and the dossier.

Each function issues a fixed number of queries, whatever the size of the registry
(tests assert it at two data sizes).
"""

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.utils import timezone

from audits.models import ACTIVE_STATUSES, Flag, FlagNote, FlagStatus, NoteKind, Rule
from audits.selectors import flags_visible
from audits.services.deadlines import flags_due_filter
from config.params import id_param
from filings.corrections import period_versions
from operators.access import Access
from operators.calendar import periods_owed
from operators.models import FilingKind, FilingStatus, Operator, OperatorStatus, RegistrationFiling
from outflows import selectors as outflow_selectors
from outflows.destinations import operator_destinations
from outflows.models import Dimension


def flag_counts_by_rule_and_severity() -> list[dict]:
    """Open and in-review flags per rule and severity: [{rule__code, rule__title, severity, count}]."""
    return list(
        Flag.objects.filter(status__in=ACTIVE_STATUSES)
        .values("rule__code", "rule__title", "severity")
        .annotate(count=Count("id"))
        .order_by("-count", "rule__code")
    )


def overdue_filings(*, limit: int = 20) -> list[dict]:
    """Open MISSING_FILING / LATE_FILING flags are the overdue filings the scan found.

    Read from the flags, not recomputed here, so the dashboard shows what the scan decided."""
    flags = (
        Flag.objects.filter(status__in=(*ACTIVE_STATUSES, FlagStatus.CONFIRMED), rule__code="MISSING_FILING")
        .select_related("operator", "rule")
        .order_by("opened_at")[:limit]
    )
    return [{"flag": f, "operator": f.operator, "evidence": f.evidence} for f in flags]


@dataclass
class Dashboard:
    run: object
    overall: object
    trend: list = field(default_factory=list)
    curve: list = field(default_factory=list)
    top_platforms: list = field(default_factory=list)
    top_countries: list = field(default_factory=list)
    top_operators: list = field(default_factory=list)
    flag_counts: list = field(default_factory=list)
    overdue: list = field(default_factory=list)
    open_flags_total: int = 0


def dashboard_figures() -> Dashboard:
    """Everything the auditors' dashboard shows, from the latest finished outflow run and the flags."""
    run = outflow_selectors.outflow_run_latest()
    counts = flag_counts_by_rule_and_severity()
    board = Dashboard(run=run, overall=None, flag_counts=counts, overdue=overdue_filings())
    board.open_flags_total = sum(row["count"] for row in counts)
    if run is None:
        return board
    board.overall = outflow_selectors.outflow_overall(run=run)
    board.trend = list(
        outflow_selectors.outflow_stats(run=run, dimension=Dimension.OVERALL, key="all")
        .exclude(cohort="all")
        .filter(non_return_share__isnull=False)
    )
    board.curve = [
        row
        for row in outflow_selectors.outflow_return_curve(run=run)
        if any(v is not None for v in row["returned_within"].values())
    ]
    board.top_platforms = list(outflow_selectors.outflow_top_unreturned(dimension=Dimension.PLATFORM, run=run))
    board.top_countries = list(outflow_selectors.outflow_top_unreturned(dimension=Dimension.COUNTRY, run=run))
    board.top_operators = list(outflow_selectors.outflow_top_unreturned(dimension=Dimension.OPERATOR, run=run))
    # Top operators lead to their dossier: the name and the id by UNP, one query.
    found = Operator.objects.filter(unp__in=[s.key for s in board.top_operators]).values_list("unp", "name", "pk")
    names = {unp: (name, pk) for unp, name, pk in found}
    for stat in board.top_operators:
        stat.operator_name, stat.operator_id = names.get(stat.key, ("", None))
    return board


def operator_queue(
    *,
    user: AbstractBaseUser,
    search: str = "",
    rule: str = "",
    severity: str = "",
    status: str = "",
    assignee: str = "",
    activity: str = "",
    operator_status: str = "",
    due: str = "",
    today: date | None = None,
) -> QuerySet[Operator]:
    """Operators with flags matching the filters (open or in review by default), riskiest first.

    `assignee` is "me", "none" or a user id; `due` is "overdue" (due date passed) or "week" (due from
    today to Sunday), on open and in-review flags. Each operator carries its matching flags' nearest
    due date (`next_due`) and how many of them are overdue. Auditors only (callers check)."""
    today = today or timezone.localdate()
    flag_filter = Q(flags__status__in=[status]) if status else Q(flags__status__in=ACTIVE_STATUSES)
    if due in ("overdue", "week"):
        flag_filter &= Q(flags__status__in=ACTIVE_STATUSES) & flags_due_filter(due=due, today=today, prefix="flags__")
    if rule:
        flag_filter &= Q(flags__rule__code=rule)
    if severity:
        flag_filter &= Q(flags__severity=severity)
    if assignee == "me":
        flag_filter &= Q(flags__assignee=user)
    elif assignee == "none":
        flag_filter &= Q(flags__assignee__isnull=True)
    elif id_param(assignee) is not None:
        flag_filter &= Q(flags__assignee_id=id_param(assignee))
    operators = Operator.objects.annotate(
        matching_flags=Count("flags", filter=flag_filter),
        critical_flags=Count("flags", filter=flag_filter & Q(flags__severity="critical")),
        high_flags=Count("flags", filter=flag_filter & Q(flags__severity="high")),
        last_flag_at=Max("flags__opened_at", filter=flag_filter),
        next_due=Min("flags__due_date", filter=flag_filter & Q(flags__status__in=ACTIVE_STATUSES)),
        overdue_flags=Count(
            "flags", filter=flag_filter & Q(flags__status__in=ACTIVE_STATUSES, flags__due_date__lt=today)
        ),
    ).filter(matching_flags__gt=0)
    if search:
        term = search.strip()
        operators = operators.filter(Q(name__icontains=term) | Q(unp__startswith=term))
    if activity:
        operators = operators.filter(activity=activity)
    if operator_status:
        operators = operators.filter(status=operator_status)
    return operators.select_related("risk").order_by(F("risk__score").desc(nulls_last=True), "-matching_flags", "name")


def rules_for_filters() -> QuerySet[Rule]:
    return Rule.objects.order_by("code").only("code", "title", "title_en", "title_be")


@dataclass
class TimelineRow:
    kind: str
    period_start: date
    period_end: date
    due_date: date
    accepted_at: object = None
    state: str = "missing"  # on_time | late | missing | not_due
    rejected: int = 0
    filing_id: int | None = None
    rejected_ids: str = ""  # "1,2": the filings page's ?id= listing exactly the rejected ones
    # Every filing of the period in the order sent, each with its reason when it was filed again
    # (filings.models.FilingCorrection): the chain of versions (issue 18 item 4).
    versions: list[dict] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return FilingKind(self.kind).label


def filing_timeline(*, operator: Operator, today: date | None = None) -> list[TimelineRow]:
    """Each owed period (DESIGN section 4) with what happened: filed on time, late, rejected, missing."""
    today = today or timezone.localdate()
    filings = list(
        RegistrationFiling.objects.filter(operator=operator)
        .only("id", "kind", "period_start", "period_end", "status", "submitted_at")
        .order_by("submitted_at")
    )
    reasons = period_versions(filings=filings)
    rows = []
    for period in periods_owed(operator=operator, today=today):
        same = [
            f
            for f in filings
            if (f.kind, f.period_start, f.period_end) == (period.kind, period.period_start, period.period_end)
        ]
        accepted = [f for f in same if f.status in (FilingStatus.ACCEPTED, FilingStatus.SUPERSEDED)]
        row = TimelineRow(period.kind, period.period_start, period.period_end, period.due_date)
        rejected = [f.pk for f in same if f.status == FilingStatus.REJECTED]
        row.rejected, row.rejected_ids = len(rejected), ",".join(map(str, rejected))
        if len(same) > 1 or any(f.pk in reasons for f in same):
            row.versions = [{"filing": f, "correction": reasons.get(f.pk)} for f in same]
        if accepted:
            first = accepted[0]
            row.accepted_at, row.filing_id = first.submitted_at, first.pk
            row.state = "late" if timezone.localdate(first.submitted_at) > period.due_date else "on_time"
        elif period.due_date >= today:
            row.state = "not_due"
        rows.append(row)
    return list(reversed(rows))


def operator_flags(*, operator: Operator, access: Access) -> QuerySet[Flag]:
    """The dossier's flags: not cleared, those the caller may see (audits.selectors.flags_visible)."""
    flags = flags_visible(access=access, queryset=operator.flags.select_related("rule", "assignee"))
    return flags.exclude(status=FlagStatus.CLEARED).order_by("-opened_at")


def operator_answers(*, operator: Operator):
    return (
        FlagNote.objects.filter(flag__operator=operator, kind=NoteKind.ANSWER)
        .select_related("flag__rule", "author")
        .order_by("-created_at")[:50]
    )


def operator_outflow(*, operator: Operator) -> dict:
    """This operator's matured non-return share by cohort (latest run) and where its money went."""
    run = outflow_selectors.outflow_run_latest()
    by_cohort = []
    total = None
    if run is not None:
        stats = list(outflow_selectors.outflow_stats(run=run, dimension=Dimension.OPERATOR, key=operator.unp))
        total = next((s for s in stats if s.cohort == "all"), None)
        by_cohort = [s for s in stats if s.cohort != "all" and s.non_return_share is not None]
    # Cached until the transfers change: an aggregate over all the operator's outbound rows otherwise.
    destinations = operator_destinations(operator_id=operator.pk, limit=15)
    return {"run": run, "total": total, "by_cohort": by_cohort, "destinations": destinations}


def operators_active_count() -> int:
    return Operator.objects.filter(status=OperatorStatus.ACTIVE).count()
