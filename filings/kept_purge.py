"""Removing kept files (filings/kept.py): when filed, and when expired (by each check and by the beat)."""

from django.utils import timezone

from filings.models import KeptUpload


def kept_upload_discard(kept: KeptUpload) -> None:
    """The kept file and its row."""
    if kept.file:
        kept.file.delete(save=False)
    kept.delete()


def kept_uploads_purge(*, now=None) -> int:
    """Remove every expired kept file; returns how many."""
    expired = list(KeptUpload.objects.filter(expires_at__lte=now or timezone.now()))
    for kept in expired:
        kept_upload_discard(kept)
    return len(expired)
