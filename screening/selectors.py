"""Reads for the screening pages and for the rule (audits reads SanctionedPlatform directly)."""

from django.db.models import QuerySet

from screening.imports import lists_in_force
from screening.models import Hit, HitStatus, ListImport, SanctionedPlatform


def hits(*, status: str = HitStatus.OPEN) -> QuerySet[Hit]:
    queryset = Hit.objects.select_related("list_entry", "platform", "operator", "decided_by")
    if status in HitStatus.values:
        queryset = queryset.filter(status=status)
    if status == HitStatus.OPEN:
        queryset = queryset.filter(current=True)
    return queryset.order_by("-score", "kind", "subject", "id")


def versions_in_force() -> list[ListImport]:
    return lists_in_force()


def sanctioned_platforms() -> QuerySet[SanctionedPlatform]:
    return SanctionedPlatform.objects.select_related("platform", "hit", "confirmed_by").order_by("platform__slug")
