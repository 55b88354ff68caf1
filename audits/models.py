"""Rule catalogue and rule versions, flags and their review, deadlines, four-eyes proposals,
notifications, the operator risk score (the audit log: auditlog.models).

Why one module of about 470 lines: these are the app's tables, which Django looks for in
audits.models; every class is a plain field list whose rows reference each other (a flag its rule
and rule version, a proposal and an escalation their flag), and they are read together in the
migrations. Behaviour lives in audits/services/, not here.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from operators.models import Operator


class Severity(models.TextChoices):
    LOW = "low", _("Низкая")
    MEDIUM = "medium", _("Средняя")
    HIGH = "high", _("Высокая")
    CRITICAL = "critical", _("Критическая")


class Rule(models.Model):
    """One violation rule of DESIGN section 6. Seeded by a migration; supervisors edit it in the admin."""

    code = models.CharField(_("код"), max_length=64, unique=True)
    # What the pages show, in the reader's language (Russian first; English and Belarusian fall back to it).
    title = models.CharField(_("название (рус.)"), max_length=255)
    title_en = models.CharField(_("название (англ.)"), max_length=255, blank=True)
    title_be = models.CharField(_("название (бел.)"), max_length=255, blank=True)
    explanation = models.CharField(_("пояснение (рус.)"), max_length=500, blank=True)
    explanation_en = models.CharField(_("пояснение (англ.)"), max_length=500, blank=True)
    explanation_be = models.CharField(_("пояснение (бел.)"), max_length=500, blank=True)
    # Technical notes for supervisors (what the rule checks, its parameters); not shown on the pages.
    description = models.TextField(_("описание"), blank=True)
    severity = models.CharField(_("важность"), max_length=16, choices=Severity.choices)
    enabled = models.BooleanField(_("включено"), default=True)
    # Thresholds; each rule module documents its keys and falls back to its defaults.
    parameters = models.JSONField(_("параметры"), default=dict, blank=True)
    updated_at = models.DateTimeField(_("изменено"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("правило")
        verbose_name_plural = _("правила")

    def __str__(self) -> str:
        return self.label

    def _in_language(self, field: str) -> str:
        language = (get_language() or "ru")[:2]
        if language in ("en", "be"):
            return getattr(self, f"{field}_{language}") or getattr(self, field)
        return getattr(self, field)

    @property
    def label(self) -> str:
        """The rule's title in the reader's language (Russian when none is given); the code if untitled."""
        return self._in_language("title") or self.code

    @property
    def explained(self) -> str:
        """The one-line explanation in the reader's language (Russian when none is given)."""
        return self._in_language("explanation")


class RuleVersionStatus(models.TextChoices):
    DRAFT = "draft", _("Черновик")
    PUBLISHED = "published", _("Опубликована")
    SUPERSEDED = "superseded", _("Заменена")


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", _("В очереди")
    RUNNING = "running", _("Выполняется")
    FINISHED = "finished", _("Завершена")
    FAILED = "failed", _("Ошибка")


class RuleVersion(models.Model):
    """One version of a rule's parameters and switch (issue 19 item 3): a supervisor's change is a draft,
    tried by a backtest, then published to take effect from a date. The scan runs each rule's version
    effective at its time (audits.services.versions); Rule.parameters/enabled mirror the one live today.
    Version 1 of every rule is its seeded values (migration 0013, and lazily for rules added later)."""

    # A rule is deleted only without flags (they protect it), and then its versions go with it.
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions", verbose_name=_("правило"))
    number = models.PositiveIntegerField(_("номер"))
    parameters = models.JSONField(_("параметры"), default=dict, blank=True)
    enabled = models.BooleanField(_("включено"), default=True)
    status = models.CharField(_("статус"), max_length=16, choices=RuleVersionStatus.choices)
    note = models.CharField(_("основание изменения"), max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("автор"),
    )
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("опубликовал"),
    )
    published_at = models.DateTimeField(_("опубликована"), null=True, blank=True)
    # From this day (Minsk) the scan uses the version; empty: since always (version 1).
    effective_from = models.DateField(_("действует с"), null=True, blank=True)
    backtest_status = models.CharField(
        _("проверка на истории"), max_length=16, choices=BacktestStatus.choices, blank=True
    )
    backtest_from = models.DateField(_("проверка с"), null=True, blank=True)
    backtest_to = models.DateField(_("проверка по"), null=True, blank=True)
    backtest = models.JSONField(_("результат проверки"), null=True, blank=True)

    class Meta:
        ordering = ["rule", "-number"]
        verbose_name = _("версия правила")
        verbose_name_plural = _("версии правил")
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="rule_version_number_unique"),
            models.UniqueConstraint(fields=["rule"], condition=models.Q(status="draft"), name="rule_version_one_draft"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code if self.rule_id else ''} v{self.number}"


class HighRiskList(models.TextChoices):
    CALL_FOR_ACTION = "call_for_action", _("FATF: призыв к действию")
    INCREASED_MONITORING = "increased_monitoring", _("FATF: усиленный мониторинг")
    NATIONAL = "national", _("Национальный перечень")


class HighRiskCountry(models.Model):
    """A jurisdiction on the high-risk list used by HIGH_RISK_JURISDICTION (editable by supervisors)."""

    country = models.CharField(_("страна"), max_length=2, unique=True)
    list_name = models.CharField(_("перечень"), max_length=32, choices=HighRiskList.choices)
    active = models.BooleanField(_("действует"), default=True)
    note = models.CharField(_("примечание"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("изменено"), auto_now=True)

    class Meta:
        ordering = ["country"]
        verbose_name = _("страна высокого риска")
        verbose_name_plural = _("страны высокого риска")

    def __str__(self) -> str:
        return self.country


class FlagStatus(models.TextChoices):
    OPEN = "open", _("Открыт")
    IN_REVIEW = "in_review", _("На рассмотрении")
    CONFIRMED = "confirmed", _("Подтверждён")
    # "Отклонён" is also a rejected filing's status: a flag's reads "Dismissed" in English.
    DISMISSED = "dismissed", pgettext_lazy("flag status", "Отклонён")
    REFERRED = "referred", _("Передан")
    CLEARED = "cleared", _("Снят (условие исчезло)")


# Flags an auditor still has to decide (the queue, the review's starting points, what a scan keeps fresh).
ACTIVE_STATUSES = (FlagStatus.OPEN, FlagStatus.IN_REVIEW)
# Flags an auditor decided: a scan never changes them (a dismissed flag may come back, see the scan).
DECIDED_STATUSES = (FlagStatus.CONFIRMED, FlagStatus.DISMISSED, FlagStatus.REFERRED)


class Agency(models.TextChoices):
    NATIONAL_BANK = "national_bank", _("Национальный банк")
    FMD = "fmd", _("Департамент финансового мониторинга")
    TAX = "tax", _("Налоговые органы")
    HTP_ADMINISTRATION = "htp", _("Администрация ПВТ")
    PROSECUTOR = "prosecutor", _("Прокуратура")


class Flag(models.Model):
    """One violation found by a rule for one operator and subject; unique by fingerprint."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="flags", verbose_name=_("оператор"))
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="flags", verbose_name=_("правило"))
    # sha256 of "CODE|UNP|subject key": rescans find the same flag again.
    fingerprint = models.CharField(max_length=64, unique=True)
    subject = models.CharField(_("предмет"), max_length=255)
    evidence = models.JSONField(_("доказательства"), default=dict)
    # The figures whose change is "material" (a dismissed flag comes back when they move).
    material = models.JSONField(default=dict)
    dismissed_material = models.JSONField(null=True, blank=True)
    severity = models.CharField(_("важность"), max_length=16, choices=Severity.choices)
    status = models.CharField(_("статус"), max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_flags",
        verbose_name=_("исполнитель"),
    )
    decision_reason = models.TextField(_("основание решения"), blank=True)
    referred_to = models.CharField(_("передан в"), max_length=32, choices=Agency.choices, blank=True)
    opened_at = models.DateTimeField(_("открыт"), auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    evidence_updated_at = models.DateTimeField(null=True, blank=True)
    # Set by its severity's SeverityDeadline when the flag opens (or opens again).
    due_date = models.DateField(_("срок рассмотрения"), null=True, blank=True, db_index=True)
    # The rule version that opened it (or opened it again); empty for flags older than versions.
    rule_version = models.ForeignKey(
        RuleVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="flags",
        verbose_name=_("версия правила"),
    )
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("нарушение")
        verbose_name_plural = _("нарушения")
        indexes = [
            models.Index(fields=["status", "operator"]),
            models.Index(fields=["rule", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule.label if self.rule_id else ''}"


class NoteKind(models.TextChoices):
    NOTE = "note", _("Заметка аудитора")
    ANSWER = "answer", _("Ответ оператора")


def answer_upload_to(instance: "FlagNote", filename: str) -> str:
    # Never the uploaded name on disk (path traversal, odd bytes); it is kept for display.
    import uuid

    return f"flag_answers/{instance.flag_id}/{uuid.uuid4().hex}"


class FlagNote(models.Model):
    """An auditor's note on a flag, or an operator's answer to a confirmed flag (with an attachment)."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=NoteKind.choices, default=NoteKind.NOTE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("текст"))
    attachment = models.FileField(upload_to=answer_upload_to, max_length=255, blank=True)
    attachment_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flag", "created_at", "id"]
        verbose_name = _("заметка")
        verbose_name_plural = _("заметки и ответы")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} №{self.pk}, {Flag._meta.verbose_name} №{self.flag_id}"


class OperatorRisk(models.Model):
    """Risk score of an operator, recomputed by every scan; `explanation` lists the flags that make it."""

    operator = models.OneToOneField(Operator, on_delete=models.CASCADE, related_name="risk", verbose_name=_("оператор"))
    score = models.DecimalField(_("оценка"), max_digits=10, decimal_places=2, default=0, db_index=True)
    explanation = models.JSONField(default=list)
    computed_at = models.DateTimeField(_("рассчитана"))

    class Meta:
        ordering = ["-score"]
        verbose_name = _("оценка риска")
        verbose_name_plural = _("оценки риска")

    def __str__(self) -> str:
        return f"{self.operator_id}: {self.score}"


class ScanStatus(models.TextChoices):
    RUNNING = "running", _("Выполняется")
    FINISHED = "finished", _("Завершена")
    FAILED = "failed", _("Ошибка")


class ScanRun(models.Model):
    """One violation scan: what it opened, kept and cleared, and how long each rule took."""

    started_at = models.DateTimeField(_("начата"))
    finished_at = models.DateTimeField(_("завершена"), null=True, blank=True)
    status = models.CharField(_("статус"), max_length=16, choices=ScanStatus.choices, default=ScanStatus.RUNNING)
    opened = models.IntegerField(_("открыто"), default=0)
    kept = models.IntegerField(_("осталось"), default=0)
    cleared = models.IntegerField(_("снято"), default=0)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("проверка")
        verbose_name_plural = _("проверки")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} №{self.pk} [{self.get_status_display()}]"


class ReminderKind(models.TextChoices):
    DUE_SOON = "due_soon", _("Скоро срок")
    MISSED = "missed", _("Срок пропущен")


class ReminderSent(models.Model):
    """A reminder e-mail already sent: the unique key keeps the daily job from sending it twice."""

    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="+")
    filing_kind = models.CharField(max_length=32)
    period_start = models.DateField()
    reminder = models.CharField(max_length=16, choices=ReminderKind.choices)
    due_date = models.DateField()
    recipients = models.JSONField(default=list)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("отправленное напоминание")
        verbose_name_plural = _("отправленные напоминания")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "filing_kind", "period_start", "reminder"], name="reminder_sent_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.operator_id} {self.filing_kind} {self.period_start} {self.reminder}"


class SeverityDeadline(models.Model):
    """How many working days (Belarus calendar) auditors have to decide a flag of one severity, and after
    how many working days past that an overdue flag is escalated to the supervisors (again after as many
    more). Seeded by a migration (critical 3, high 10, medium 20, low 30); supervisors edit it in the admin;
    a change applies to flags that open after it."""

    severity = models.CharField(_("важность"), max_length=16, choices=Severity.choices, unique=True)
    working_days = models.PositiveSmallIntegerField(_("срок, рабочих дней"))
    escalate_after_days = models.PositiveSmallIntegerField(_("эскалация после просрочки, рабочих дней"), default=5)
    updated_at = models.DateTimeField(_("изменён"), auto_now=True)

    class Meta:
        ordering = ["working_days"]
        verbose_name = _("срок рассмотрения")
        verbose_name_plural = _("сроки рассмотрения")
        constraints = [
            models.CheckConstraint(condition=models.Q(working_days__gte=1), name="severity_deadline_days_positive"),
            models.CheckConstraint(
                condition=models.Q(escalate_after_days__gte=1), name="severity_deadline_escalation_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity}: {self.working_days}"


class FlagEscalation(models.Model):
    """An overdue flag escalated to the supervisors at one level: the unique key makes the daily job
    escalate each flag once per level, however often it runs."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="escalations", verbose_name=_("нарушение"))
    level = models.PositiveSmallIntegerField(_("уровень"))
    due_date = models.DateField(_("срок рассмотрения"))
    overdue_days = models.PositiveSmallIntegerField(_("просрочка, рабочих дней"))
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("эскалация")
        verbose_name_plural = _("эскалации")
        constraints = [models.UniqueConstraint(fields=["flag", "level"], name="flag_escalation_once_per_level")]

    def __str__(self) -> str:
        return f"flag #{self.flag_id} level {self.level}"


class ProposalAction(models.TextChoices):
    CONFIRM = "confirm", _("Подтвердить")
    DISMISS = "dismiss", _("Отклонить")
    REFER = "refer", _("Передать")


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Ждёт второго решения")
    APPROVED = "approved", _("Одобрено")
    RETURNED = "returned", _("Возвращено")


class FlagProposal(models.Model):
    """Four eyes: a decision on a high or critical flag proposed by one SCC user, approved (and then
    applied) or returned by another. One pending proposal per flag; never the same person twice
    (audits.services.approvals enforces it, the database too)."""

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="proposals", verbose_name=_("нарушение"))
    action = models.CharField(_("решение"), max_length=16, choices=ProposalAction.choices)
    reason = models.TextField(_("основание"))
    agency = models.CharField(_("передать в"), max_length=32, choices=Agency.choices, blank=True)
    status = models.CharField(
        _("статус"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("предложил")
    )
    proposed_at = models.DateTimeField(_("предложено"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("решил"),
    )
    decided_at = models.DateTimeField(_("решено"), null=True, blank=True)
    decision_note = models.TextField(_("комментарий второго"), blank=True)
    # When the approved decision was applied to the flag: an approval is used once.
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        verbose_name = _("предложение решения")
        verbose_name_plural = _("предложения решений")
        constraints = [
            models.UniqueConstraint(
                fields=["flag"], condition=models.Q(status="pending"), name="flag_proposal_one_pending"
            ),
            models.CheckConstraint(
                condition=~models.Q(decided_by=models.F("proposed_by")), name="flag_proposal_four_eyes"
            ),
        ]

    def __str__(self) -> str:
        # The admin's labels (and its checkboxes' aria-label) show it: the choices' labels, no English words.
        return f"#{self.pk}: {self.get_action_display()} #{self.flag_id} ({self.get_status_display()})"


class NotificationKind(models.TextChoices):
    ESCALATION = "escalation", _("Эскалация просроченного нарушения")
    RETURNED = "returned", _("Предложение возвращено")


class Notification(models.Model):
    """An in-portal message to one SCC user (an escalation, a proposal returned to its author). What is
    derived from live state (flags assigned, approvals waiting) is not stored: see audits.notifications."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What the page renders in the reader's language; `text` is the Russian wording kept with it.
    escalation = models.ForeignKey(
        "FlagEscalation", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    proposal = models.ForeignKey(
        "FlagProposal", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(_("текст"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("уведомление")
        verbose_name_plural = _("уведомления")
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id}"
