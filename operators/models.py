from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from operators.validators import validate_country_code, validate_unp


class Activity(models.TextChoices):
    EXCHANGE = "exchange", _("Криптобиржа")
    TRADING_PLATFORM = "trading_platform", _("Торговая платформа")
    CUSTODIAN = "custodian", _("Хранитель")
    TOKEN_ISSUER = "token_issuer", _("Эмитент токенов")
    MINER = "miner", _("Майнер")
    OTHER = "other", _("Другое")


class OperatorStatus(models.TextChoices):
    ACTIVE = "active", _("Действует")
    SUSPENDED = "suspended", _("Приостановлен")
    EXCLUDED = "excluded", _("Исключён")


class Operator(models.Model):
    """A crypto operator resident in the Hi-Tech Park (ПВТ)."""

    unp = models.CharField(_("УНП"), max_length=9, unique=True, validators=[validate_unp])
    name = models.CharField(_("наименование"), max_length=255)
    htp_certificate_no = models.CharField(_("№ свидетельства ПВТ"), max_length=64)
    htp_certificate_valid_until = models.DateField(_("свидетельство действует до"))
    htp_registered_on = models.DateField(_("дата регистрации в ПВТ"), null=True, blank=True)
    activity = models.CharField(_("вид деятельности"), max_length=32, choices=Activity.choices)
    status = models.CharField(_("статус"), max_length=16, choices=OperatorStatus.choices, default=OperatorStatus.ACTIVE)
    legal_address = models.CharField(_("юридический адрес"), max_length=500, blank=True)
    aml_officer = models.CharField(_("ответственный за ПОД/ФТ"), max_length=255, blank=True)
    website = models.URLField(_("сайт"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("телефон"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("создан"), auto_now_add=True)
    updated_at = models.DateTimeField(_("изменён"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("оператор")
        verbose_name_plural = _("операторы")

    def __str__(self) -> str:
        return f"{self.name} ({self.unp})"


class OperatorStatusChange(models.Model):
    """History of an operator's status: who changed it, when, from what, to what and why."""

    operator = models.ForeignKey(
        Operator, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("оператор")
    )
    from_status = models.CharField(_("было"), max_length=16, choices=OperatorStatus.choices, blank=True)
    to_status = models.CharField(_("стало"), max_length=16, choices=OperatorStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("кто изменил")
    )
    changed_at = models.DateTimeField(_("когда"), auto_now_add=True)
    reason = models.TextField(_("основание"), blank=True)

    class Meta:
        ordering = ["operator", "-changed_at"]
        verbose_name = _("изменение статуса")
        verbose_name_plural = _("история статусов")

    def __str__(self) -> str:
        return f"{self.operator.unp}: {self.get_from_status_display() or '—'} → {self.get_to_status_display()}"


class ForeignPlatform(models.Model):
    """A foreign crypto platform that Belarusian investors send money to."""

    slug = models.SlugField(_("код"), max_length=64, unique=True)
    name = models.CharField(_("название"), max_length=255)
    country = models.CharField(_("страна"), max_length=2, validators=[validate_country_code])
    verified = models.BooleanField(_("проверена"), default=False)
    high_risk = models.BooleanField(_("высокий риск"), default=False)
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)
    updated_at = models.DateTimeField(_("изменена"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("иностранная платформа")
        verbose_name_plural = _("иностранные платформы")
        constraints = [
            models.CheckConstraint(condition=models.Q(slug=Lower("slug")), name="platform_slug_lower_case"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.country})"


class OperatorMembership(models.Model):
    """Which users act for which operator (operator staff)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("пользователь")
    )
    operator = models.ForeignKey(
        Operator, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("оператор")
    )
    created_at = models.DateTimeField(_("создан"), auto_now_add=True)

    class Meta:
        verbose_name = _("сотрудник оператора")
        verbose_name_plural = _("сотрудники операторов")
        constraints = [models.UniqueConstraint(fields=["user", "operator"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.operator.unp}"


class FilingKind(models.TextChoices):
    OPERATOR_PROFILE = "operator_profile", _("Профиль оператора")
    CLIENT_REGISTER = "client_register", _("Реестр клиентов")
    TRANSFER_REGISTER = "transfer_register", _("Реестр переводов")


class FilingStatus(models.TextChoices):
    RECEIVED = "received", _("Получен")
    PROCESSING = "processing", _("Обрабатывается")
    ACCEPTED = "accepted", _("Принят")
    REJECTED = "rejected", _("Отклонён")
    SUPERSEDED = "superseded", _("Заменён")


def filing_upload_to(instance: "RegistrationFiling", filename: str) -> str:
    # The stored name never uses the uploaded name (path traversal, odd bytes):
    # the original name is kept in a field for display only.
    return f"filings/{instance.operator_id}/{instance.sha256}"


class RegistrationFiling(models.Model):
    """One upload of a registration filing; the original file is kept byte-for-byte."""

    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="filings", verbose_name=_("оператор"))
    kind = models.CharField(_("вид"), max_length=32, choices=FilingKind.choices)
    period_start = models.DateField(_("начало периода"))
    period_end = models.DateField(_("конец периода"))
    due_date = models.DateField(_("срок подачи"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("подан"), auto_now_add=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    file = models.FileField(_("файл"), upload_to=filing_upload_to, max_length=255)
    original_name = models.CharField(_("имя файла"), max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    declared_rows = models.IntegerField(_("заявлено строк"), null=True, blank=True)
    declared_out_byn = models.DecimalField(
        _("заявлено: вывод за рубеж, BYN"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    declared_in_byn = models.DecimalField(
        _("заявлено: возврат, BYN"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(_("статус"), max_length=16, choices=FilingStatus.choices, default=FilingStatus.RECEIVED)
    rows_total = models.IntegerField(_("строк в файле"), default=0)
    rows_imported = models.IntegerField(_("строк загружено"), default=0)
    error_count = models.IntegerField(_("ошибок"), default=0)
    # Non-blocking findings (e.g. declared totals that differ from the rows).
    warnings = models.JSONField(default=list, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Rows of the file already on record from another live filing with the same
    # content: not imported again and not counted twice (DESIGN section 3).
    rows_skipped = models.IntegerField(_("строк уже учтено"), default=0)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("отчёт")
        verbose_name_plural = _("отчёты")
        indexes = [
            models.Index(fields=["operator", "kind", "period_start", "status"]),
            models.Index(fields=["operator", "sha256"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.operator.unp} {self.get_kind_display()} {self.period_start}–{self.period_end}"
            f" [{self.get_status_display()}]"
        )


class FilingError(models.Model):
    """One problem in one row of a filing (row as the operator's spreadsheet numbers it)."""

    filing = models.ForeignKey(RegistrationFiling, on_delete=models.CASCADE, related_name="errors")
    row = models.IntegerField()
    column = models.CharField(max_length=64, blank=True)
    value = models.TextField(blank=True)
    code = models.CharField(max_length=64)
    message_ru = models.TextField()
    message_en = models.TextField()

    class Meta:
        ordering = ["filing", "row", "id"]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.code}"


class KycLevel(models.TextChoices):
    SIMPLIFIED = "simplified", _("Упрощённая")
    STANDARD = "standard", _("Стандартная")
    ENHANCED = "enhanced", _("Расширенная")


class ClientRecord(models.Model):
    """One investor in an operator's client register."""

    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="clients", verbose_name=_("оператор"))
    filing = models.ForeignKey(
        RegistrationFiling, on_delete=models.CASCADE, related_name="client_records", verbose_name=_("отчёт")
    )
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    residency_country = models.CharField(_("страна резидентства"), max_length=2, validators=[validate_country_code])
    registered_at = models.DateField(_("дата регистрации"))
    kyc_level = models.CharField(_("уровень проверки (KYC)"), max_length=16, choices=KycLevel.choices)

    class Meta:
        indexes = [models.Index(fields=["operator", "investor_ref"])]
        verbose_name = _("клиент из реестра")
        verbose_name_plural = _("клиенты из реестров")

    def __str__(self) -> str:
        return f"{self.investor_ref} ({self.get_kyc_level_display()})"


class Periodicity(models.TextChoices):
    MONTHLY = "monthly", _("Ежемесячно")
    QUARTERLY = "quarterly", _("Ежеквартально")
    YEARLY = "yearly", _("Ежегодно")


class FilingCalendar(models.Model):
    """How often a kind of filing is owed and when it is due; supervisors edit it in the admin.

    A kind without a row here uses the defaults of DESIGN section 4 (operators/calendar.py).
    """

    kind = models.CharField(_("вид"), max_length=32, choices=FilingKind.choices, unique=True)
    periodicity = models.CharField(_("периодичность"), max_length=16, choices=Periodicity.choices)
    # Every default of DESIGN section 4 is "N days after the period ends":
    # the 15th of the next month is period_end + 15, 31 January is 31 Dec + 31.
    due_days_after_period = models.PositiveIntegerField(_("срок, дней после периода"))
    change_notice_days = models.PositiveIntegerField(_("срок уведомления об изменении, дней"), null=True, blank=True)
    updated_at = models.DateTimeField(_("изменён"), auto_now=True)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("календарь отчётности")
        verbose_name_plural = _("календарь отчётности")

    def __str__(self) -> str:
        return f"{self.kind}: {self.periodicity}, +{self.due_days_after_period}"


class OperatorProfileRecord(models.Model):
    """The operator's own statement of its details, from an `operator_profile` filing.

    Kept apart from the registry (which supervisors keep) so that the audit rule
    PROFILE_MISMATCH can compare the two.
    """

    operator = models.ForeignKey(
        Operator, on_delete=models.CASCADE, related_name="profile_records", verbose_name=_("оператор")
    )
    filing = models.ForeignKey(
        RegistrationFiling, on_delete=models.CASCADE, related_name="profile_records", verbose_name=_("отчёт")
    )
    unp = models.CharField(_("УНП"), max_length=9)
    name = models.CharField(_("наименование"), max_length=255)
    htp_certificate_no = models.CharField(_("№ свидетельства ПВТ"), max_length=64)
    htp_certificate_valid_until = models.DateField(_("свидетельство действует до"))
    activity = models.CharField(max_length=32, choices=Activity.choices)
    legal_address = models.CharField(max_length=500, blank=True)
    aml_officer = models.CharField(max_length=255, blank=True)
    website = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("профиль из отчёта")
        verbose_name_plural = _("профили из отчётов")

    def __str__(self) -> str:
        return f"{self.unp} {self.name}"


class WorkLease(models.Model):
    """Who is working on a long task's object (a filing's import, an outflow run), and until when.

    A table of its own, not fields on the filing: the import holds the filing's row lock for
    its whole transaction, and a heartbeat on that row would wait behind it. filings/leases.py
    takes, renews and releases these; the sweepers re-send work whose lease lapsed.
    """

    kind = models.CharField(max_length=16)  # filings.leases.FILING or OUTFLOW_RUN
    object_id = models.BigIntegerField()
    holder = models.CharField(max_length=128, blank=True)  # "host:pid:token" of the process at work
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    resent_at = models.DateTimeField(null=True, blank=True)  # last re-send by a sweeper

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="worklease_kind_object_unique")]
        verbose_name = _("аренда задачи")
        verbose_name_plural = _("аренды задач")

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} until {self.expires_at}"
