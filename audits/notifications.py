"""What needs an SCC user (issue 18, item 6): the reads behind the notifications page and the header's count.

Built in: flags assigned to them (open or in review, by due date), four-eyes proposals waiting for a
second person (not their own), and their in-portal notifications (escalations of overdue flags,
proposals returned to them). The header's count is one query (`inbox_count`).

Extension point: other parts of the casework (answers from operators, overdue data requests) add a
section with `inbox_source_register(...)` from their AppConfig.ready(); the page shows each registered
section and the header adds its count. Nothing here imports them (they may live in a layer above).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Func, QuerySet, Subquery

from audits.models import ACTIVE_STATUSES, Flag, FlagProposal, Notification, ProposalStatus


@dataclass(frozen=True)
class InboxSource:
    """A section another part adds to the page: `items(user=...)` gives what it lists (each item an
    object the section's template renders), `count(user=...)` what the header adds."""

    key: str
    title: str
    template: str
    items: Callable[..., list]
    count: Callable[..., int]


_SOURCES: dict[str, InboxSource] = {}


def inbox_source_register(source: InboxSource) -> None:
    """Add (or replace, by key) a section of the notifications page. Call from AppConfig.ready()."""
    _SOURCES[source.key] = source


def inbox_sources() -> list[InboxSource]:
    return list(_SOURCES.values())


def flags_assigned(*, user: AbstractBaseUser) -> QuerySet[Flag]:
    """Open and in-review flags assigned to the user, soonest due first."""
    return (
        Flag.objects.filter(assignee=user, status__in=ACTIVE_STATUSES)
        .select_related("operator", "rule")
        .order_by(F("due_date").asc(nulls_last=True), "pk")
    )


def proposals_waiting(*, user: AbstractBaseUser) -> QuerySet[FlagProposal]:
    """Four-eyes proposals someone else made, waiting for a second auditor or supervisor."""
    return (
        FlagProposal.objects.filter(status=ProposalStatus.PENDING)
        .exclude(proposed_by=user)
        .select_related("flag__operator", "flag__rule", "proposed_by")
        .order_by("proposed_at", "pk")
    )


def proposals_mine(*, user: AbstractBaseUser) -> QuerySet[FlagProposal]:
    """The user's own proposals still waiting for a second person."""
    return (
        FlagProposal.objects.filter(status=ProposalStatus.PENDING, proposed_by=user)
        .select_related("flag__operator", "flag__rule")
        .order_by("proposed_at", "pk")
    )


def notifications_of(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The user's notifications, unread first, then newest."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("flag__operator", "flag__rule", "escalation", "proposal")
        .order_by(F("read_at").desc(nulls_first=True), "-created_at", "-pk")
    )


def flag_proposal_pending(*, flag: Flag) -> FlagProposal | None:
    """The flag's proposal waiting for a second person, if any."""
    return FlagProposal.objects.filter(flag=flag, status=ProposalStatus.PENDING).select_related("proposed_by").first()


def flag_proposals(*, flag: Flag) -> QuerySet[FlagProposal]:
    """Every proposal made on the flag, newest first (the flag page's four-eyes history)."""
    return flag.proposals.select_related("proposed_by", "decided_by").order_by("-proposed_at", "-pk")


class _Count(Func):
    # COUNT(*) of a correlated or plain subquery without a GROUP BY: one scalar per subquery.
    function = "COUNT"
    template = "%(function)s(*)"


def _count(queryset: QuerySet) -> Subquery:
    return Subquery(queryset.order_by().annotate(n=_Count(F("pk"))).values("n")[:1])


@dataclass
class InboxCounts:
    assigned: int = 0
    waiting: int = 0
    unread: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.assigned + self.waiting + self.unread + sum(self.extra.values())


def inbox_counts(*, user: AbstractBaseUser) -> InboxCounts:
    """The three built-in counts in one query (plus one call per registered source)."""
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            assigned=_count(Flag.objects.filter(assignee=user, status__in=ACTIVE_STATUSES)),
            waiting=_count(FlagProposal.objects.filter(status=ProposalStatus.PENDING).exclude(proposed_by=user)),
            unread=_count(Notification.objects.filter(recipient=user, read_at__isnull=True)),
        )
        .values("assigned", "waiting", "unread")
        .first()
    ) or {}
    counts = InboxCounts(**{k: v or 0 for k, v in row.items()})
    counts.extra = {source.key: source.count(user=user) for source in inbox_sources()}
    return counts


def inbox_count(*, user: AbstractBaseUser) -> int:
    """What the header shows."""
    return inbox_counts(user=user).total
