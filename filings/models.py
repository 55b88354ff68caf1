"""The filing intake's own table: files kept after a dry run (issue 16, item 4).

The filings and their errors stay in operators.models (see filings/apps.py).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
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


class CorrectionCategory(models.TextChoices):
    SCC_REQUEST = "scc_request", _("Исправление по запросу КГК")
    OWN_ERROR = "own_error", _("Найдена собственная ошибка")
    LATE_DATA = "late_data", _("Поступили запоздавшие данные")


class FilingCorrection(models.Model):
    """Why a period was filed again (issue 18 item 4): the new filing's reason (category and free text), the
    filing of the period it follows (the latest one when it was sent) and, optionally, the SCC's data request
    that prompted it (casework.DataRequest's number: a plain id, the casework app sits above this one).
    Written with the filing, never changed; the supersession rules (DESIGN section 3) do not look at it."""

    filing = models.OneToOneField(
        "operators.RegistrationFiling", on_delete=models.CASCADE, related_name="correction", verbose_name=_("отчёт")
    )
    previous = models.ForeignKey(
        "operators.RegistrationFiling",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("предыдущая версия"),
    )
    category = models.CharField(_("причина"), max_length=16, choices=CorrectionCategory.choices)
    reason = models.TextField(_("пояснение"))
    data_request_id = models.PositiveIntegerField(_("запрос КГК №"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("причина повторной подачи")
        verbose_name_plural = _("причины повторной подачи")

    def __str__(self) -> str:
        return f"{self.category}: filing #{self.filing_id}"


class ArchivedClientRecord(models.Model):
    """A client-register row of a superseded register, kept (never deleted) with its own id and filing.

    A resubmission of a client register moves the rows of the one it replaces here (filings.archive), in the
    intake's transaction: every live reader sees only the current register's rows, and a past outflow run
    whose investor residency and KYC cells read the old register can be re-derived (outflows.rederive)."""

    id = models.BigIntegerField(primary_key=True)  # the record's id while it was live
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="+", db_index=False,
                                 db_constraint=False)  # fmt: skip
    filing = models.ForeignKey(
        "operators.RegistrationFiling", on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    residency_country = models.CharField(_("страна резидентства"), max_length=2)
    registered_at = models.DateField(_("дата регистрации"))
    kyc_level = models.CharField(_("уровень проверки (KYC)"), max_length=16)
    archived_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("клиент заменённого реестра")
        verbose_name_plural = _("клиенты заменённых реестров")

    def __str__(self) -> str:
        return f"{self.investor_ref} (filing {self.filing_id})"
