"""Referral packages (issue 18 item 5): what an agency takes away when a flag is referred to it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audits.models import Agency, Flag


class ImmutableError(RuntimeError):
    """A referral package is written once and never changed or deleted."""


class ReferralPackage(models.Model):
    """One immutable zip (casework.referrals.package describes its members and its SHA-256) built when a
    referral of `flag` to `agency` takes effect: one per referral (a flag reopened and referred again gets
    a new one; the old stays). Kept in the database, not on disk, so that it is backed up with the audit
    log it quotes; on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002)."""

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="referral_packages")
    agency = models.CharField(_("передан в"), max_length=32, choices=Agency.choices)
    # The referral this package documents: the flag's decided_at when it was referred.
    referred_at = models.DateTimeField(_("передан"))
    created_at = models.DateTimeField(_("создан"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The package's own SHA-256 (manifest.json: package_sha256) and the SHA-256 of the zip file's bytes.
    sha256 = models.CharField(_("SHA-256 пакета"), max_length=64)
    zip_sha256 = models.CharField(_("SHA-256 файла"), max_length=64)
    size_bytes = models.BigIntegerField(_("размер, байт"))
    members = models.PositiveIntegerField(_("файлов в пакете"))
    content = models.BinaryField(editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("пакет передачи")
        verbose_name_plural = _("пакеты передачи")
        constraints = [
            models.UniqueConstraint(fields=["flag", "referred_at"], name="referral_package_one_per_referral")
        ]

    def __str__(self) -> str:
        return f"referral package #{self.pk} flag #{self.flag_id} ({self.sha256[:12]})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("a referral package is never changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("a referral package is never deleted")

    @property
    def filename(self) -> str:
        return f"referral-flag-{self.flag_id}-{self.sha256[:12]}.zip"
