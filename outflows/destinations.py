"""Where an operator's money went (the dossier): its outbound value and count per foreign platform.

An aggregate over every outbound transfer of the operator grows with the register (half a million
rows for a large operator at national scale), so the answer is kept in the cache until the
transfers change: the key carries the latest TransferChange id, which a statement trigger adds on
every insert, update or delete of transfers (PostgreSQL, migration 0005). The embedded SQLite
default has no trigger: it computes the figures on every request (its registers are small).
"""

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Sum

from outflows.models import CrossBorderTransfer, Direction, TransferChange

CACHE_SECONDS = 24 * 3600


def transfers_version() -> str | None:
    """The latest change to the transfer table, its id and time (PostgreSQL; a database restored or
    re-created from scratch reuses ids, not their times); None where changes are not tracked."""
    if connection.vendor != "postgresql":
        return None
    last = TransferChange.objects.order_by("-id").values_list("id", "changed_at").first()
    return f"{last[0]}-{last[1].timestamp()}" if last else "0"


def operator_destinations(*, operator_id: int, limit: int = 15) -> list[dict]:
    """[{platform__slug, platform__name, platform__country, platform__verified, value, count}], most value first."""
    version = transfers_version()
    key = f"outflows:destinations:{operator_id}:{limit}:{version}"
    if version is not None:
        found = cache.get(key)
        if found is not None:
            return found
    rows = list(
        CrossBorderTransfer.objects.filter(operator_id=operator_id, direction=Direction.OUT)
        .values("platform__slug", "platform__name", "platform__country", "platform__verified")
        .annotate(value=Sum("value_byn"), count=Count("id"))
        .order_by("-value")[:limit]
    )
    if version is not None:
        cache.set(key, rows, CACHE_SECONDS)
    return rows
