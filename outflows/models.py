from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from operators.models import ForeignPlatform, Operator, RegistrationFiling


class Direction(models.TextChoices):
    OUT = "OUT", _("Вывод за рубеж")
    IN = "IN", _("Возврат")


class CrossBorderTransfer(models.Model):
    """One transfer between an investor in Belarus and a foreign platform.

    Written in bulk (COPY) by the transfer-register intake, never one by one.
    """

    # Every index and constraint costs on each bulk load (the COPY of a
    # national-scale register). Indexes: operator is the prefix of the unique
    # (operator, external_id) index, and the outflow engine scans the whole
    # table, so neither operator nor platform gets one of its own; filing keeps
    # its index (supersession deletes by it). Foreign keys are not enforced by
    # the database: PostgreSQL checks them with one trigger query per row and
    # key (measured: 25 µs a row, three quarters of the whole load). The only
    # writer, outflows/ingest.py, takes the ids from rows it holds locked in the
    # same transaction, and on_delete=PROTECT is still enforced by Django.
    operator = models.ForeignKey(
        Operator,
        on_delete=models.PROTECT,
        related_name="transfers",
        db_index=False,
        db_constraint=False,
        verbose_name=_("оператор"),
    )
    # filing and updated_at follow the load order (one filing is one COPY, stamped with one time),
    # so their index is BRIN on PostgreSQL: a btree entry per row cost the intake a quarter of its
    # time. Migration 0014 keeps one BRIN for filing, updated_at, operator and occurred_at.
    filing = models.ForeignKey(
        RegistrationFiling, on_delete=models.PROTECT, related_name="transfers", db_constraint=False, db_index=False
    )
    external_id = models.CharField(_("номер перевода"), max_length=64)
    occurred_at = models.DateTimeField(_("когда"))
    direction = models.CharField(_("направление"), max_length=3, choices=Direction.choices)
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    platform = models.ForeignKey(
        ForeignPlatform,
        on_delete=models.PROTECT,
        related_name="transfers",
        db_index=False,
        db_constraint=False,
        verbose_name=_("платформа"),
    )
    asset = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    value_byn = models.DecimalField(_("сумма, BYN"), max_digits=18, decimal_places=2)
    # db_default: the intake's COPY leaves the column out and PostgreSQL fills in the
    # transaction's time, instead of parsing the same timestamp text once per row.
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        verbose_name = _("трансграничный перевод")
        verbose_name_plural = _("трансграничные переводы")
        constraints = [
            models.UniqueConstraint(fields=["operator", "external_id"], name="transfer_external_id_unique"),
        ]
        # The lists' btree (migration 0006): the order (occurred_at, id) for keyset pages and periods.
        # Each btree costs the intake about as much as the row itself, so no other: on PostgreSQL an
        # operator's period is found by the BRIN of migration 0014 and an investor by a bloom BRIN
        # (0006) (bench/README_ingest.md, bench/README_pages.md).
        indexes = [models.Index(fields=["occurred_at", "id"], name="transfer_occurred_idx")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.direction} {self.value_byn} BYN"


class TransferChange(models.Model):
    """One statement that changed the transfer table (insert, update, delete, truncate).

    Written by a statement-level trigger on PostgreSQL (migration 0005), never by
    Python. A partitioned outflow run reads its partitions in separate
    transactions; each one counts these rows in its own snapshot, and equal
    counts mean they all saw the same transfers (snapshots taken one after
    another see ever more committed rows, and rows here are only added). So
    never delete from this table: a few rows per accepted filing.
    """

    changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("изменение переводов")
        verbose_name_plural = _("изменения переводов")

    def __str__(self) -> str:
        return f"#{self.pk} at {self.changed_at:%Y-%m-%d %H:%M:%S}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("В очереди")
    RUNNING = "running", _("Выполняется")
    FINISHED = "finished", _("Завершён")
    FAILED = "failed", _("Ошибка")


class OutflowRun(models.Model):
    """One computation of the non-return share (DESIGN section 5). Immutable once finished."""

    as_of = models.DateTimeField(_("на дату"))
    window_days = models.PositiveIntegerField(_("окно, дней"), default=365)
    partitions = models.PositiveIntegerField(default=1)
    status = models.CharField(_("статус"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    input_rows = models.BigIntegerField(_("переводов на входе"), default=0)
    input_fingerprint = models.CharField(max_length=64, blank=True)
    excess_return_byn = models.DecimalField(_("сверхвозврат, BYN"), max_digits=20, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(_("начат"), null=True, blank=True)
    finished_at = models.DateTimeField(_("завершён"), null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # Bootstrap interval of the share, overall and per operator, with distinct outbound investors
    # (outflows.uncertainty.summary); coverage of the transfer registers per operator and month
    # (outflows.coverage.run_coverage). Both written with the stats, when the run finishes.
    uncertainty = models.JSONField(_("неопределённость"), default=dict, blank=True)
    coverage = models.JSONField(_("полнота отчётов"), default=dict, blank=True)
    # Issue 17 items 2-3 (outflows.variant_summary.record_from_cells): canonical, investor-level and
    # unit-based shares overall and per operator, the price effect, and the excess return by operator,
    # platform and country; {} for runs computed without the variants.
    variants = models.JSONField(_("варианты доли"), default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("расчёт невозврата")
        verbose_name_plural = _("расчёты невозврата")

    def __str__(self) -> str:
        return f"#{self.pk} as of {self.as_of:%Y-%m-%d} W={self.window_days} [{self.status}]"


class Dimension(models.TextChoices):
    OVERALL = "overall", _("Всего")
    OPERATOR = "operator", _("Оператор")
    PLATFORM = "platform", _("Платформа")
    COUNTRY = "country", _("Страна")
    # Cross-tabs (issue 17 item 2; keys: outflows/variant_summary.py)
    OPERATOR_PLATFORM = "operator_platform", _("Оператор × платформа")
    OPERATOR_COUNTRY = "operator_country", _("Оператор × страна")
    ASSET = "asset", _("Актив")
    RESIDENCY = "residency", _("Резидентство инвестора")
    KYC = "kyc", _("Уровень KYC")


class OutflowStat(models.Model):
    """One row of a run: a dimension key and a cohort month (or "all")."""

    run = models.ForeignKey(OutflowRun, on_delete=models.CASCADE, related_name="stats")
    dimension = models.CharField(max_length=24, choices=Dimension.choices)
    key = models.CharField(max_length=128)  # "all", UNP, slug, country, "UNP:slug", "UNP:CC", ticker, KYC level
    cohort = models.CharField(max_length=7)  # "YYYY-MM" or "all"
    outbound_value_byn = models.DecimalField(max_digits=20, decimal_places=2)
    returned_value_byn = models.DecimalField(max_digits=20, decimal_places=2)
    unreturned_value_byn = models.DecimalField(max_digits=20, decimal_places=2)
    non_return_share = models.DecimalField(max_digits=9, decimal_places=6, null=True)
    pending_outbound_value_byn = models.DecimalField(max_digits=20, decimal_places=2)
    pending_returned_value_byn = models.DecimalField(max_digits=20, decimal_places=2)
    outbound_count = models.BigIntegerField()
    # Return curve: value of matured outbounds returned within 30/90/180/365 days.
    returned_30d_byn = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returned_90d_byn = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returned_180d_byn = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    returned_365d_byn = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        ordering = ["run", "dimension", "key", "cohort"]
        constraints = [
            models.UniqueConstraint(fields=["run", "dimension", "key", "cohort"], name="outflow_stat_unique"),
        ]
        indexes = [models.Index(fields=["run", "dimension", "cohort"])]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.dimension}:{self.key} {self.cohort}"

    @property
    def returned_curve(self) -> list:
        """The return curve in the order of its horizons (30, 90, 180, 365 days: outflows.engine.CURVE_DAYS)."""
        return [self.returned_30d_byn, self.returned_90d_byn, self.returned_180d_byn, self.returned_365d_byn]


class ArchivedTransfer(models.Model):
    """A transfer of a superseded transfer register, kept (never deleted) with its own id and filing.

    A resubmission moves the rows of the filing it replaces here, in the intake's
    transaction (outflows.inputs.filing_rows_archive), so that every live reader (lists, API,
    feeds, the engine) sees only the current rows and a past run can still be re-derived
    from exactly the filings it read (outflows.rederive). Written set-wise, never one by one.
    """

    id = models.BigIntegerField(primary_key=True)  # the transfer's id while it was live
    operator = models.ForeignKey(
        Operator, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    # Rows of one filing arrive together (one INSERT ... SELECT) and are read together: a BRIN on
    # filing_id (migration 0011 on PostgreSQL), nearly free to keep, where a btree cost the move a fifth.
    filing = models.ForeignKey(
        RegistrationFiling, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    external_id = models.CharField(_("номер перевода"), max_length=64)
    occurred_at = models.DateTimeField(_("когда"))
    direction = models.CharField(_("направление"), max_length=3, choices=Direction.choices)
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    platform = models.ForeignKey(
        ForeignPlatform, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    asset = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    value_byn = models.DecimalField(_("сумма, BYN"), max_digits=18, decimal_places=2)
    updated_at = models.DateTimeField()  # as it was when live
    archived_at = models.DateTimeField(db_default=Now())

    class Meta:
        verbose_name = _("перевод заменённого отчёта")
        verbose_name_plural = _("переводы заменённых отчётов")

    def __str__(self) -> str:
        return f"{self.external_id} {self.direction} {self.value_byn} BYN (filing {self.filing_id})"


class OutflowRunFiling(models.Model):
    """A transfer register a run read, with the SHA-256 of its file as it was then (outflows.inputs)."""

    run = models.ForeignKey(OutflowRun, on_delete=models.CASCADE, related_name="input_filings")
    filing = models.ForeignKey(RegistrationFiling, on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("отчёт на входе расчёта")
        verbose_name_plural = _("отчёты на входе расчёта")
        constraints = [models.UniqueConstraint(fields=["run", "filing"], name="outflow_run_filing_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} read filing {self.filing_id}"


class OutflowRunRegistry(models.Model):
    """The registry a run read by (operators' UNPs, platforms' slugs and countries, by id): its cells are
    keyed by them, so a later edit of a platform's country does not change a re-derived figure."""

    run = models.OneToOneField(OutflowRun, on_delete=models.CASCADE, primary_key=True, related_name="input_registry")
    operators = models.JSONField(default=list)  # [[unp, id], ...]
    platforms = models.JSONField(default=list)  # [[slug, id, country], ...]

    class Meta:
        verbose_name = _("реестр на входе расчёта")
        verbose_name_plural = _("реестры на входе расчёта")

    def __str__(self) -> str:
        return f"registry of run {self.run_id}"


class TransferAsRead(models.Model):
    """A transfer row live or archived: a database view (migration 0012) of CrossBorderTransfer and
    ArchivedTransfer with the columns they share, `archived` telling which. Never written.

    The drill-down of a run whose registers were superseded since lists and allocates the rows it read
    from here (outflows.drilldown.run_rows); ids are unique across both tables (a row keeps its id when
    it moves to the archive, in one transaction).
    """

    id = models.BigIntegerField(primary_key=True)
    operator = models.ForeignKey(
        Operator, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, verbose_name=_("оператор")
    )
    filing = models.ForeignKey(RegistrationFiling, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    external_id = models.CharField(_("номер перевода"), max_length=64)
    occurred_at = models.DateTimeField(_("когда"))
    direction = models.CharField(_("направление"), max_length=3, choices=Direction.choices)
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    platform = models.ForeignKey(
        ForeignPlatform, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, verbose_name=_("платформа")
    )
    asset = models.CharField(max_length=10)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    value_byn = models.DecimalField(_("сумма, BYN"), max_digits=18, decimal_places=2)
    updated_at = models.DateTimeField()
    archived = models.BooleanField()  # a row of a register superseded since (ArchivedTransfer)

    class Meta:
        managed = False
        db_table = "outflows_transferasread"
        verbose_name = _("перевод, как его прочитал расчёт")
        verbose_name_plural = _("переводы, как их прочитал расчёт")

    def __str__(self) -> str:
        return f"{self.external_id} {self.direction} {self.value_byn} BYN (filing {self.filing_id})"


class ClientRecordAsRead(models.Model):
    """A client-register row live or archived: a database view (migration 0013) of operators' ClientRecord and
    filings' ArchivedClientRecord, `archived` telling which. Never written.

    The residency and KYC cells of a run whose client registers were superseded since are drilled down by the
    records it read from here (outflows.inputs.client_records_as_read).
    """

    id = models.BigIntegerField(primary_key=True)
    operator = models.ForeignKey(Operator, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    filing = models.ForeignKey(RegistrationFiling, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    investor_ref = models.CharField(_("инвестор"), max_length=64)
    residency_country = models.CharField(_("страна резидентства"), max_length=2)
    registered_at = models.DateField(_("дата регистрации"))
    kyc_level = models.CharField(_("уровень проверки (KYC)"), max_length=16)
    archived = models.BooleanField()  # a row of a register superseded since (ArchivedClientRecord)

    class Meta:
        managed = False
        db_table = "outflows_clientrecordasread"
        verbose_name = _("клиент из реестра, как его прочитал расчёт")
        verbose_name_plural = _("клиенты из реестров, как их прочитал расчёт")

    def __str__(self) -> str:
        return f"{self.investor_ref} (filing {self.filing_id})"
