"""A dry run keeps its file for a while, so that "Submit this file" follows without choosing it again.

The file is stored under a random token (filings.models.KeptUpload), for the user who checked
it and that operator only, for FILING_KEPT_UPLOAD_SECONDS; it is removed when it is filed or
when it expires (kept_uploads_purge, run at each check and by the beat every 10 minutes).
"""

import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from filings.corrections import Correction
from filings.kept_purge import kept_upload_discard, kept_uploads_purge
from filings.models import KeptUpload
from filings.progress import upload_progress
from filings.services import FilingResult, filing_submit
from operators.tabular.errors import RowError

__all__ = ["kept_upload_check", "kept_upload_get", "kept_upload_submit", "kept_uploads_purge", "new_upload_token"]


def new_upload_token() -> str:
    """A random token for one upload form (its progress) and, after a dry run, for the kept file."""
    return secrets.token_urlsafe(24)


def kept_upload_check(
    *,
    operator,
    kind: str,
    period_start,
    period_end,
    uploaded_file,
    user: AbstractBaseUser,
    progress_token: str,
    declared_rows=None,
    declared_out_byn=None,
    declared_in_byn=None,
) -> KeptUpload:
    """Keep the upload under a new token and check it (the intake's dry run), its progress under the
    form's ``progress_token``; the caller has checked that ``user`` may act for ``operator``. Nothing
    is filed. The result is stored with the kept file."""
    kept_uploads_purge()
    token = new_upload_token()
    fields = {
        "kind": kind,
        "period_start": period_start,
        "period_end": period_end,
        "declared_rows": declared_rows,
        "declared_out_byn": declared_out_byn,
        "declared_in_byn": declared_in_byn,
    }
    kept = KeptUpload(
        token=token,
        user=user,
        operator=operator,
        original_name=Path(getattr(uploaded_file, "name", "") or "").name[:255],
        size_bytes=uploaded_file.size or 0,
        expires_at=timezone.now() + timedelta(seconds=settings.FILING_KEPT_UPLOAD_SECONDS),
        **fields,
    )
    # A file over the upload limit is refused by the check before it is read: it is not kept either.
    too_large = kept.size_bytes > settings.FILING_MAX_UPLOAD_BYTES
    with transaction.atomic():
        if not too_large:
            kept.file.save(token, uploaded_file, save=False)
        kept.save()
    progress = upload_progress(token=progress_token, user_id=user.pk)
    if too_large:
        result = filing_submit(operator=operator, uploaded_file=uploaded_file, user=user, dry_run=True, **fields)
    else:
        with kept.file.open("rb") as fh:
            result = filing_submit(
                operator=operator,
                uploaded_file=File(fh, name=kept.original_name),
                user=user,
                dry_run=True,
                progress=progress,
                **fields,
            )
    kept.status = "valid" if result.status == "valid" else "rejected"
    kept.rows = result.rows
    kept.errors = [[e.row, e.column, e.value, e.code] for e in result.errors]
    kept.warnings = result.warnings
    kept.save(update_fields=["status", "rows", "errors", "warnings"])
    return kept


def kept_upload_get(*, token: str, user: AbstractBaseUser, operator_ids) -> KeptUpload:
    """The user's own unexpired kept file, for an operator the user still acts for (``operator_ids``, the
    request's operators.access.Access); DoesNotExist otherwise."""
    return KeptUpload.objects.select_related("operator").get(
        token=token,
        user_id=user.pk,
        operator_id__in=list(operator_ids),
        expires_at__gt=timezone.now(),
    )


def kept_errors(kept: KeptUpload) -> list[RowError]:
    return [RowError(*e) for e in kept.errors]


def kept_upload_submit(
    *, kept: KeptUpload, user: AbstractBaseUser, upload_token: str | None = None, correction: Correction | None = None
) -> FilingResult:
    """File the kept file as it was checked (same operator, kind, period, declared totals), then remove it.
    ``correction``: why the period is filed again (filings.corrections)."""
    with kept.file.open("rb") as fh:
        result = filing_submit(
            operator=kept.operator,
            kind=kept.kind,
            period_start=kept.period_start,
            period_end=kept.period_end,
            uploaded_file=File(fh, name=kept.original_name),
            user=user,
            declared_rows=kept.declared_rows,
            declared_out_byn=kept.declared_out_byn,
            declared_in_byn=kept.declared_in_byn,
            upload_token=upload_token,
            correction=correction,
        )
    kept_upload_discard(kept)
    return result
