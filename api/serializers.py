"""Thin serializers: fields only; querysets in the viewsets select what these read."""

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers
from rest_framework.reverse import reverse

from api.fast_paths import enabled
from api.rows import STANDARD, RowPlan, row_dict, row_plan
from audits.models import Flag
from operators.models import FilingError, FilingKind, FilingStatus, ForeignPlatform, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowRunFiling, OutflowStat
from outflows.selectors import STAT_FIELDS


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 only: messages by field name.",
    )


# --- Rows, not model instances, for the two big lists (transfers, outflow stats) ---------------


_ROW_PLANS: dict[tuple, RowPlan] = {}


class RowListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        plan = self.child.row_plan()  # chosen once per page
        if plan.written_by_sql:
            return [row_dict(plan, row) for row in data]
        return [self.child.to_representation(row) for row in data]


class RowSerializer(serializers.ModelSerializer):
    """Reads the tuples of `rows(queryset)`: each field's value selected as its JSON needs it (api/rows.py)."""

    class Meta:
        list_serializer_class = RowListSerializer

    def row_plan(self) -> RowPlan:
        # Building a ModelSerializer's fields is a model introspection: once per class, zone and database.
        # With the shortcut off (API_FAST_PATHS["sql_rows"]) DRF's own fields show the plain columns.
        vendor = connection.vendor if enabled("sql_rows") else STANDARD
        key = (type(self), timezone.get_current_timezone_name(), vendor)
        if key not in _ROW_PLANS:
            _ROW_PLANS[key] = row_plan(self, timezone.get_current_timezone(), vendor)
        return _ROW_PLANS[key]

    def to_representation(self, instance):
        plan = self.row_plan()
        if plan.written_by_sql:
            return row_dict(plan, instance)
        # Elsewhere (the embedded SQLite demo) DRF's own fields show the plain columns.
        return super().to_representation(dict(zip(plan.sources, instance, strict=True)))

    @classmethod
    def rows(cls, queryset: QuerySet) -> QuerySet:
        """`queryset` as the tuples this serializer reads, `id` first (the cursor's position)."""
        return queryset.values_list(*cls().row_plan().columns)


class OperatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Operator
        fields = [
            "id",
            "unp",
            "name",
            "htp_certificate_no",
            "htp_certificate_valid_until",
            "htp_registered_on",
            "activity",
            "status",
            "legal_address",
            "aml_officer",
            "website",
            "email",
            "phone",
            "created_at",
            "updated_at",
        ]


class PlatformSerializer(serializers.ModelSerializer):
    class Meta:
        model = ForeignPlatform
        fields = ["id", "slug", "name", "country", "verified", "high_risk", "created_at", "updated_at"]


class FilingSerializer(serializers.ModelSerializer):
    operator = serializers.SlugRelatedField(slug_field="unp", read_only=True, help_text="Operator UNP.")
    operator_id = serializers.IntegerField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api:filing-detail")
    errors_url = serializers.HyperlinkedIdentityField(view_name="api:filing-error-list", lookup_url_kwarg="filing_pk")

    class Meta:
        model = RegistrationFiling
        fields = [
            "id",
            "url",
            "operator",
            "operator_id",
            "kind",
            "period_start",
            "period_end",
            "due_date",
            "submitted_at",
            "original_name",
            "size_bytes",
            "sha256",
            "declared_rows",
            "declared_out_byn",
            "declared_in_byn",
            "status",
            "rows_total",
            "rows_imported",
            "rows_skipped",
            "error_count",
            "warnings",
            "processed_at",
            "superseded_by",
            "errors_url",
            "updated_at",
        ]


class FilingErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = FilingError
        fields = ["id", "row", "column", "value", "code", "message_ru", "message_en"]


class FilingCreateSerializer(serializers.Serializer):
    """multipart/form-data upload of a filing (operator staff only)."""

    operator = serializers.IntegerField(
        required=False,
        help_text="Operator id; needed only when the caller acts for several operators.",
    )
    kind = serializers.ChoiceField(choices=FilingKind.choices)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    declared_rows = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2_000_000_000)
    declared_out_byn = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    declared_in_byn = serializers.DecimalField(
        max_digits=18, decimal_places=2, required=False, allow_null=True, min_value=0
    )
    file = serializers.FileField(
        allow_empty_file=True,
        help_text=f"CSV or XLSX (DESIGN section 3), at most {settings.FILING_MAX_UPLOAD_BYTES} bytes by default.",
    )

    def validate(self, attrs):
        if attrs["period_end"] < attrs["period_start"]:
            raise serializers.ValidationError({"period_end": ["The period ends before it starts."]})
        return attrs


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="0: the file as a whole; 1: the header.")
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    message = serializers.CharField(help_text="Russian / English.")


class FilingAcceptedSerializer(serializers.Serializer):
    """202: the filing is stored and queued for processing (or was already on record)."""

    filing = serializers.IntegerField()
    url = serializers.URLField()
    status = serializers.CharField()
    existing = serializers.BooleanField(help_text="True when a byte-identical filing was already on record.")


class DryRunReportSerializer(serializers.Serializer):
    """200 for ?dry_run=1: the same report as a real submission, nothing stored."""

    status = serializers.ChoiceField(choices=["valid", "rejected"])
    rows = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    warnings = serializers.ListField(child=serializers.DictField())


class FlagSerializer(serializers.ModelSerializer):
    operator = serializers.SlugRelatedField(slug_field="unp", read_only=True, help_text="Operator UNP.")
    operator_id = serializers.IntegerField(read_only=True)
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text="Rule code.")

    class Meta:
        model = Flag
        fields = [
            "id",
            "operator",
            "operator_id",
            "rule",
            "fingerprint",
            "subject",
            "evidence",
            "severity",
            "status",
            "referred_to",
            "opened_at",
            "decided_at",
            "cleared_at",
            "updated_at",
        ]


class TransferSerializer(RowSerializer):
    # Rows with the two codes joined in as plain columns (api.views.transfers_for_api): building
    # an Operator and a ForeignPlatform per transfer costs three times the rest of the page.
    operator = serializers.CharField(source="operator_unp", read_only=True, help_text="Reporting operator's UNP.")
    platform = serializers.CharField(source="platform_slug", read_only=True, help_text="Platform slug.")
    filing = serializers.IntegerField(source="filing_id", read_only=True, help_text="Source filing id.")

    class Meta(RowSerializer.Meta):
        model = CrossBorderTransfer
        fields = [
            "id",
            "operator",
            "filing",
            "external_id",
            "occurred_at",
            "direction",
            "investor_ref",
            "platform",
            "asset",
            "amount",
            "value_byn",
            "updated_at",
        ]


class OutflowRunSerializer(serializers.ModelSerializer):
    stats_url = serializers.SerializerMethodField()

    class Meta:
        model = OutflowRun
        fields = [
            "id",
            "as_of",
            "window_days",
            "status",
            "input_rows",
            "excess_return_byn",
            "created_at",
            "started_at",
            "finished_at",
            "updated_at",
            "stats_url",
            "uncertainty",
            "coverage",
        ]

    def get_stats_url(self, obj) -> str:
        return reverse("api:outflow-stat-list", request=self.context.get("request")) + f"?run={obj.pk}"


class RunFilingSerializer(serializers.ModelSerializer):
    """A filing a run read, as the run recorded it (id, SHA-256), and what became of it since."""

    filing = serializers.IntegerField(source="filing_id", read_only=True, help_text="Filing id.")
    url = serializers.HyperlinkedRelatedField(
        source="filing",
        view_name="api:filing-detail",
        read_only=True,
        help_text="The filing (the `filings` scope reads it).",
    )
    kind = serializers.ChoiceField(source="filing.kind", choices=FilingKind.choices, read_only=True)
    operator = serializers.CharField(source="filing.operator.unp", read_only=True, help_text="Operator UNP.")
    operator_id = serializers.IntegerField(source="filing.operator_id", read_only=True)
    period_start = serializers.DateField(source="filing.period_start", read_only=True)
    period_end = serializers.DateField(source="filing.period_end", read_only=True)
    sha256 = serializers.CharField(read_only=True, help_text="SHA-256 of the file as the run read it.")
    status = serializers.ChoiceField(
        source="filing.status", choices=FilingStatus.choices, read_only=True, help_text="The filing's status now."
    )
    current = serializers.SerializerMethodField(
        help_text="Still the accepted filing now (false: superseded since the run)."
    )
    superseded_by = serializers.IntegerField(
        source="filing.superseded_by_id", read_only=True, allow_null=True, help_text="The filing that replaced it."
    )

    class Meta:
        model = OutflowRunFiling
        fields = [
            "filing",
            "url",
            "kind",
            "operator",
            "operator_id",
            "period_start",
            "period_end",
            "sha256",
            "status",
            "current",
            "superseded_by",
        ]

    def get_current(self, obj) -> bool:
        # The rule of api.selectors.STILL_ACCEPTED (the `current` filter), on the row already read.
        return obj.filing.status == FilingStatus.ACCEPTED and obj.filing.sha256 == obj.sha256


class OutflowStatSerializer(RowSerializer):
    # A number (or null when nothing has matured), as in `compute_outflows --json`; money stays a decimal string.
    non_return_share = serializers.DecimalField(
        max_digits=9, decimal_places=6, read_only=True, allow_null=True, coerce_to_string=False
    )
    run = serializers.IntegerField(source="run_id", read_only=True, help_text="The run these figures belong to.")

    class Meta(RowSerializer.Meta):
        model = OutflowStat
        fields = [
            "id",
            "run",
            *STAT_FIELDS,
            "returned_30d_byn",
            "returned_90d_byn",
            "returned_180d_byn",
            "returned_365d_byn",
        ]
