"""Referral packages (issue 18 item 5) and the operators' threads: messages, attachments, read receipts and
data requests (item 3)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audits.models import Agency, Flag
from operators.models import Operator, RegistrationFiling


class ImmutableError(RuntimeError):
    """A referral package is written once and never changed or deleted."""


class ReferralPackage(models.Model):
    """One immutable zip (casework.referrals.package describes its members and its SHA-256) built when a
    referral of `flag` to `agency` takes effect: one per referral (a flag reopened and referred again gets
    a new one; the old stays). Kept in the database, not on disk, so that it is backed up with the audit
    log it quotes; on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002)."""

    # A flag's referral names its flag; an operator's referral (casework.referrals.operator) names the
    # operator and no flag.
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.PROTECT, related_name="referral_packages")
    operator = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="referral_packages"
    )
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
        if self.flag_id is None:
            return f"referral package #{self.pk} operator #{self.operator_id} ({self.sha256[:12]})"
        return f"referral package #{self.pk} flag #{self.flag_id} ({self.sha256[:12]})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableError("a referral package is never changed once written")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError("a referral package is never deleted")

    @property
    def filename(self) -> str:
        if self.flag_id is None:
            return f"referral-operator-{self.operator_id}-{self.sha256[:12]}.zip"
        return f"referral-flag-{self.flag_id}-{self.sha256[:12]}.zip"


class MessageCategory(models.TextChoices):
    NOTICE = "notice", _("Уведомление")
    DATA_REQUEST = "data_request", _("Запрос данных")
    CLARIFICATION = "clarification", _("Разъяснение")
    TECHNICAL = "technical", _("Технический вопрос")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Открыт")
    ANSWERED = "answered", _("Получен ответ")
    OVERDUE = "overdue", _("Просрочен")
    CLOSED = "closed", _("Закрыт")


class Message(models.Model):
    """One message of an operator's thread (issue 18 item 3): between the SCC and that operator's staff.
    A data request is a message with a DataRequest; a broadcast notice is one message per operator
    sharing a `broadcast` key. It may link a flag, a filing or a data request (an answer names its request)."""

    operator = models.ForeignKey(
        Operator, on_delete=models.PROTECT, related_name="messages", verbose_name=_("оператор")
    )
    category = models.CharField(_("категория"), max_length=16, choices=MessageCategory.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_scc = models.BooleanField(_("от КГК"))
    text = models.TextField(_("текст"))
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    filing = models.ForeignKey(RegistrationFiling, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    request = models.ForeignKey(
        "DataRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    broadcast = models.CharField(max_length=32, blank=True, db_index=True)
    created_at = models.DateTimeField(_("отправлено"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("сообщение")
        verbose_name_plural = _("сообщения")
        indexes = [models.Index(fields=["operator", "created_at"])]

    def __str__(self) -> str:
        return f"message #{self.pk} {self.category} operator #{self.operator_id}"


def attachment_upload_to(instance: "MessageAttachment", filename: str) -> str:
    # Never the uploaded name on disk (path traversal, odd bytes); it is kept for display.
    return f"casework/{instance.message.operator_id}/{uuid.uuid4().hex}"


class MessageAttachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=255)
    original_name = models.CharField(_("имя файла"), max_length=255)
    size_bytes = models.BigIntegerField(_("размер, байт"))
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        verbose_name = _("вложение")
        verbose_name_plural = _("вложения")

    def __str__(self) -> str:
        return self.original_name


class MessageRead(models.Model):
    """A read receipt: who of the other side opened the message, first time only."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["read_at", "id"]
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="message_read_once")]

    def __str__(self) -> str:
        return f"message #{self.message_id} read by {self.user_id}"


class DataRequest(models.Model):
    """The SCC asks an operator for data by a due date: open until answered (a staff message naming it),
    overdue when the due date passed unanswered (the daily job), closed by an auditor."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="data_requests")
    subject = models.CharField(_("тема"), max_length=255)
    due_date = models.DateField(_("срок ответа"))
    status = models.CharField(_("статус"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The last e-mail nudge (the daily job sends one when due soon and one when overdue, never twice).
    nudged = models.CharField(max_length=16, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("запрос данных")
        verbose_name_plural = _("запросы данных")
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"data request #{self.pk} operator #{self.operator_id} [{self.status}]"

    @property
    def status_now(self) -> str:
        """The status as of today: an open request past its due date is overdue even before the daily job."""
        if self.status == RequestStatus.OPEN and self.due_date < timezone.localdate():
            return RequestStatus.OVERDUE
        return self.status

    def get_status_now_display(self) -> str:
        return str(RequestStatus(self.status_now).label)
