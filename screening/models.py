"""Screening lists (sanctions and watch lists imported from files) and the hits of counterparty screening.

A list import is one version of a list: its file's SHA-256, source, publication date and entries.
The latest import of a list name is the list in force; screening reads only those. A hit pairs a
subject (a foreign platform, an operator's AML officer or legal name, a wallet address) with a list
entry; it is keyed by the list's own entry id, so rescreening updates it rather than adding another,
and a dismissed hit stays dismissed while the entry's content hash is the one it was dismissed on.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from operators.models import ForeignPlatform, Operator, RegistrationFiling


class ListFormat(models.TextChoices):
    FTM = "ftm", _("OpenSanctions (FollowTheMoney, строки JSON)")
    OFAC = "ofac", _("OFAC SDN (XML или CSV)")
    EU = "eu", _("Сводный список ЕС (XML)")
    CSV = "csv", _("Национальный список (CSV)")


class ListImport(models.Model):
    """One imported file of a list: a version, identified by its SHA-256."""

    list_name = models.CharField(_("список"), max_length=128)
    format = models.CharField(_("формат"), max_length=8, choices=ListFormat.choices)
    source = models.CharField(_("источник"), max_length=500)
    sha256 = models.CharField(_("SHA-256 файла"), max_length=64)
    published_on = models.DateField(_("дата публикации"), null=True, blank=True)
    imported_at = models.DateTimeField(_("загружен"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("кто загрузил")
    )
    entry_count = models.PositiveIntegerField(_("записей"), default=0)
    screened_at = models.DateTimeField(_("проверка по нему"), null=True, blank=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = _("загрузка списка")
        verbose_name_plural = _("загрузки списков")
        constraints = [models.UniqueConstraint(fields=["list_name", "sha256"], name="screening_list_version_unique")]

    def __str__(self) -> str:
        return f"{self.list_name} {self.sha256[:12]}"


class ListEntry(models.Model):
    """One designated person, organisation or wallet of a list version, reduced to what screening compares."""

    list_import = models.ForeignKey(
        ListImport, on_delete=models.CASCADE, related_name="entries", verbose_name=_("версия списка")
    )
    entry_id = models.CharField(_("идентификатор записи"), max_length=200)
    schema = models.CharField(_("вид"), max_length=32)  # FtM schema: Person, Organization, LegalEntity, ...
    caption = models.CharField(_("название"), max_length=500)
    names = models.JSONField(_("имена"), default=list)
    wallets = models.JSONField(_("кошельки"), default=list)
    domains = models.JSONField(_("домены"), default=list)
    countries = models.JSONField(_("страны"), default=list)
    programs = models.JSONField(_("программы"), default=list)
    listed_on = models.DateField(_("дата включения"), null=True, blank=True)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["list_import", "entry_id"]
        verbose_name = _("запись списка")
        verbose_name_plural = _("записи списков")
        constraints = [
            models.UniqueConstraint(fields=["list_import", "entry_id"], name="screening_entry_unique_in_version")
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}: {self.caption}"


# FtM schema names of the entries, as the pages say them.
SCHEMA_LABELS = {
    "Person": _("Физическое лицо"),
    "Organization": _("Организация"),
    "Company": _("Компания"),
    "LegalEntity": _("Юридическое лицо"),
    "PublicBody": _("Государственный орган"),
    "CryptoWallet": _("Кошелёк"),
}


class HitKind(models.TextChoices):
    PLATFORM = "platform", _("Платформа")
    OFFICER = "officer", _("Ответственный за ПОД/ФТ")
    OPERATOR = "operator", _("Оператор (наименование)")
    WALLET = "wallet", _("Кошелёк")


class HitStatus(models.TextChoices):
    OPEN = "open", _("Ждёт проверки")
    CONFIRMED = "confirmed", _("Подтверждено")
    DISMISSED = "dismissed", _("Ложное совпадение")


class Hit(models.Model):
    """A subject that matched a list entry, and the reviewer's decision on it."""

    kind = models.CharField(_("что проверено"), max_length=16, choices=HitKind.choices)
    subject = models.CharField(_("субъект"), max_length=200)  # platform slug, operator UNP or wallet address
    subject_name = models.CharField(_("проверенное имя"), max_length=500, blank=True)
    platform = models.ForeignKey(ForeignPlatform, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    list_name = models.CharField(_("список"), max_length=128)
    entry_id = models.CharField(_("запись списка"), max_length=200)
    list_entry = models.ForeignKey(ListEntry, null=True, on_delete=models.SET_NULL, related_name="hits")
    entry_hash = models.CharField(max_length=64)
    matched_name = models.CharField(_("совпавшее имя"), max_length=500, blank=True)
    score = models.FloatField(_("оценка"))
    status = models.CharField(_("статус"), max_length=16, choices=HitStatus.choices, default=HitStatus.OPEN)
    current = models.BooleanField(_("совпадает сейчас"), default=True)
    reason = models.TextField(_("основание решения"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("решено"), null=True, blank=True)
    decided_hash = models.CharField(max_length=64, blank=True)  # entry content the decision was made on
    first_seen = models.DateTimeField(_("впервые"), auto_now_add=True)
    last_seen = models.DateTimeField(_("последняя проверка"))

    class Meta:
        ordering = ["-score", "id"]
        verbose_name = _("совпадение со списком")
        verbose_name_plural = _("совпадения со списками")
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject", "list_name", "entry_id"], name="screening_hit_unique")
        ]
        indexes = [models.Index(fields=["status", "current"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} ~ {self.list_name}:{self.entry_id} ({self.score:.2f})"


class SanctionedPlatform(models.Model):
    """A foreign platform an SCC reviewer confirmed as listed, from its listing date."""

    platform = models.OneToOneField(
        ForeignPlatform, on_delete=models.CASCADE, related_name="sanction", verbose_name=_("платформа")
    )
    listed_on = models.DateField(_("дата включения в список"))
    hit = models.ForeignKey(Hit, on_delete=models.PROTECT, related_name="+", verbose_name=_("совпадение"))
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(_("подтверждено"), auto_now_add=True)

    class Meta:
        verbose_name = _("платформа под санкциями")
        verbose_name_plural = _("платформы под санкциями")

    def __str__(self) -> str:
        return f"{self.platform.slug} ({self.listed_on})"


class PlatformAlias(models.Model):
    """Other names and the websites of a foreign platform, kept by supervisors for the screening
    (the platform directory itself holds one name)."""

    class Kind(models.TextChoices):
        NAME = "name", _("Другое название")
        DOMAIN = "domain", _("Сайт (домен)")

    platform = models.ForeignKey(
        ForeignPlatform, on_delete=models.CASCADE, related_name="screening_aliases", verbose_name=_("платформа")
    )
    kind = models.CharField(_("вид"), max_length=8, choices=Kind.choices)
    value = models.CharField(_("значение"), max_length=255)
    updated_at = models.DateTimeField(_("изменено"), auto_now=True)

    class Meta:
        ordering = ["platform", "kind", "value"]
        verbose_name = _("название или сайт платформы")
        verbose_name_plural = _("названия и сайты платформ")
        constraints = [
            models.UniqueConstraint(fields=["platform", "kind", "value"], name="screening_platform_alias_unique")
        ]

    def __str__(self) -> str:
        return f"{self.platform.slug}: {self.value}"


class RegisterWallet(models.Model):
    """A counterparty wallet address from the optional `counterparty_wallet` column of an accepted
    transfer register, read once per filing (screening.wallets)."""

    filing = models.ForeignKey(RegistrationFiling, on_delete=models.CASCADE, related_name="+")
    operator = models.ForeignKey(Operator, on_delete=models.CASCADE, related_name="+")
    platform_slug = models.CharField(max_length=64)
    address = models.CharField(max_length=128)

    class Meta:
        verbose_name = _("кошелёк контрагента")
        verbose_name_plural = _("кошельки контрагентов")
        constraints = [
            models.UniqueConstraint(fields=["filing", "platform_slug", "address"], name="screening_wallet_unique")
        ]
        indexes = [models.Index(fields=["address"])]

    def __str__(self) -> str:
        return f"{self.platform_slug}: {self.address}"


class WalletScan(models.Model):
    """Filings whose wallets were read (also those without the column), so each file is read once."""

    filing = models.OneToOneField(RegistrationFiling, on_delete=models.CASCADE, related_name="+")
    wallets = models.PositiveIntegerField(default=0)
    read_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"filing {self.filing_id}: {self.wallets} wallets"
