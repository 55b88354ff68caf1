"""The filing intake's own table: files kept after a dry run (issue 16, item 4).

The filings and their errors stay in operators.models (see filings/apps.py).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from operators.models import FilingKind, Operator


def kept_upload_to(instance: "KeptUpload", filename: str) -> str:
    return f"kept/{instance.token}"


class KeptUpload(models.Model):
    """A file checked by a dry run, kept for a short time (FILING_KEPT_UPLOAD_SECONDS) under a random
    token, for the user who checked it and that operator only, so that it can be filed without
    choosing it again. Nothing here is a filing: it is removed when filed or when it expires."""

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("вид"), max_length=32, choices=FilingKind.choices)
    period_start = models.DateField(_("начало периода"))
    period_end = models.DateField(_("конец периода"))
    declared_rows = models.IntegerField(null=True, blank=True)
    declared_out_byn = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    declared_in_byn = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    file = models.FileField(upload_to=kept_upload_to, max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    # The check's result: "valid" or "rejected", the rows, every error as [row, column, value, code].
    status = models.CharField(max_length=16, blank=True)
    rows = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("проверенный файл")
        verbose_name_plural = _("проверенные файлы")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.token[:8]})"
