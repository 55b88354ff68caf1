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
    # so their indexes are BRIN, made by migration 0004 on PostgreSQL: a btree entry per row
    # cost the intake a quarter of its time.
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
        # Each random-order btree costs the intake about as much as the row itself, so no other: the
        # migration adds BRIN indexes on (operator_id, occurred_at) and on investor_ref (bloom) on
        # PostgreSQL (bench/README_ingest.md, bench/README_pages.md).
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


class OutflowStat(models.Model):
    """One row of a run: a dimension key and a cohort month (or "all")."""

    run = models.ForeignKey(OutflowRun, on_delete=models.CASCADE, related_name="stats")
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=64)  # "all", operator UNP, platform slug or country code
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
