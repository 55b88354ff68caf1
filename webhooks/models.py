"""Webhook subscriptions of API tokens and the log of every delivery (issue 19 item 5)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from api.models import ApiToken


class Event(models.TextChoices):
    RUN_FINISHED = "run.finished", _("Расчёт невозврата завершён")
    FLAG_REFERRED = "flag.referred", _("Нарушение передано ведомству")
    FILING_ACCEPTED = "filing.accepted", _("Отчёт оператора принят")


def new_secret() -> str:
    return secrets.token_hex(32)


class Subscription(models.Model):
    """Where a token's events go. The secret signs every delivery (HMAC-SHA256); the supervisor
    who creates the subscription hands it to the agency with the token."""

    token = models.ForeignKey(
        ApiToken, on_delete=models.CASCADE, related_name="webhook_subscriptions", verbose_name=_("API-токен")
    )
    url = models.URLField(_("адрес получателя"), max_length=500)
    events = models.JSONField(_("события"), default=list)
    secret = models.CharField(_("секрет подписи"), max_length=64, default=new_secret, editable=False)
    active = models.BooleanField(_("действует"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)

    class Meta:
        verbose_name = _("подписка на события")
        verbose_name_plural = _("подписки на события")

    def __str__(self) -> str:
        return f"{self.token} → {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("ожидает отправки")
    DELIVERED = "delivered", _("доставлено")
    FAILED = "failed", _("не доставлено")


class Delivery(models.Model):
    """One event for one subscription, sent until the receiver answers 2xx or the attempts run out."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("подписка")
    )
    event = models.CharField(_("событие"), max_length=32, choices=Event.choices)
    event_key = models.CharField(max_length=64)  # "run:12": one delivery per subscription and event
    payload = models.JSONField()
    status = models.CharField(
        _("состояние"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("попыток"), default=0)
    next_attempt_at = models.DateTimeField(_("следующая попытка"), null=True, blank=True)
    last_status_code = models.PositiveIntegerField(_("последний ответ"), null=True, blank=True)
    last_error = models.CharField(_("последняя ошибка"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("создано"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("доставлено"), null=True, blank=True)

    class Meta:
        verbose_name = _("доставка события")
        verbose_name_plural = _("журнал доставок")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_key"], name="webhook_delivery_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"


class Cursor(models.Model):
    """Up to when each kind of event has been collected (the watermark of api.feeds)."""

    event = models.CharField(max_length=32, choices=Event.choices, unique=True)
    collected_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.event} < {self.collected_until.isoformat()}"
