"""API tokens: agencies' and operators' keys, stored only as a SHA-256 hash."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audits.models import Agency
from operators.models import Operator


class Scope(models.TextChoices):
    OPERATORS = "operators", _("Реестр операторов и платформ")
    FILINGS = "filings", _("Отчёты")
    FLAGS = "flags", _("Нарушения")
    OUTFLOWS = "outflows", _("Невозврат")
    TRANSFERS = "transfers", _("Переводы")
    # Referral packages of flags referred to the token's agency (casework.models.ReferralPackage).
    REFERRALS = "referrals", _("Пакеты передачи")


class ApiToken(models.Model):
    """One client's key.

    Three kinds, told apart by the two foreign keys:

    * agency token (no user): read-only, exactly the scopes listed;
    * user token (a portal user, no operator): the user's role (auditor: read
      everything; operator staff: their own operators), narrowed to the scopes;
    * operator token (user and operator): operator staff acting for that one
      operator; it stops working when the user leaves the operator.

    Tying operator tokens to a user, not only to an operator, keeps
    ``submitted_by`` on filings and the audit log naming a person.
    """

    name = models.CharField(_("название"), max_length=100)
    prefix = models.CharField(_("начало ключа"), max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("области"), default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("пользователь"),
    )
    operator = models.ForeignKey(
        Operator,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("оператор"),
    )
    # An agency token's agency: the referral packages it pulls are the ones referred to it.
    agency = models.CharField(_("ведомство"), max_length=32, choices=Agency.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("создан"), auto_now_add=True)
    expires_at = models.DateTimeField(_("действует до"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("отозван"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("использован"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("API-токен")
        verbose_name_plural = _("API-токены")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(operator__isnull=True) | models.Q(user__isnull=False),
                name="api_token_operator_needs_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def kind(self) -> str:
        if self.user_id is None:
            return "agency"
        return "operator" if self.operator_id is not None else "user"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
