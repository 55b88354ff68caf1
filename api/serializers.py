"""Thin serializers: fields only; querysets in the viewsets select what these read."""

import decimal

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.reverse import reverse
from rest_framework.settings import api_settings

from audits.models import Flag
from operators.models import FilingError, FilingKind, ForeignPlatform, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat
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
#
# A page of 100 transfers through DRF's fields costs ~10 ms of CPU: a getattr chain, a
# timezone lookup and a fresh decimal context per value. These serializers read the dicts of
# `QuerySet.values()` and convert each column with one plain function chosen once per page, to
# the very same JSON (tests/api/test_rows.py compares both ways, field by field).


def _datetime_converter(field: serializers.DateTimeField):
    zone = field.timezone if getattr(field, "timezone", None) else timezone.get_current_timezone()

    def convert(value):
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _decimal_converter(field: serializers.DecimalField):
    places = field.decimal_places
    exponent = decimal.Decimal(1).scaleb(-places)
    context = decimal.Context(prec=field.max_digits, rounding=field.rounding or decimal.ROUND_HALF_EVEN)
    as_string = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)

    def quantized(value):  # DRF's DecimalField.to_representation
        value = value.quantize(exponent, context=context)
        return f"{value:f}" if as_string else value

    if places < 1:
        return quantized
    digits = context.prec + 1  # the point and at most `prec` digits (a leading "0." counts one more)

    def convert(value):
        # A column of the field's scale, numeric(p, places), holds values of exactly `places`
        # decimals. For those quantize changes nothing and str() writes what format "f" writes
        # (plain notation: `places` digits after the point, no exponent), about 1 µs less per
        # value: 1,100 values on a page of stats. Anything else takes DRF's way: another scale,
        # an exponent (E), NaN, or more digits than the precision allows (quantize raises).
        text = str(value)
        if text[-places - 1 : -places] == "." and "E" not in text and len(text) - (text[0] == "-") <= digits:
            return text if as_string else value
        return quantized(value)

    return convert


def _converter(field: serializers.Field):
    """The plain function turning a column value into what `field.to_representation` returns."""
    if isinstance(field, serializers.DateTimeField):
        if getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601:
            return _datetime_converter(field)
    elif isinstance(field, serializers.DecimalField):
        if not field.localize and not field.normalize_output:
            return _decimal_converter(field)
    elif type(field) in (serializers.CharField, serializers.IntegerField, serializers.ChoiceField):
        return None  # the column already holds the str / int the JSON shows
    elif type(field) is serializers.BigIntegerField and not getattr(
        field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
    ):
        return None  # int(value) of the int a bigint column holds: the ids
    return field.to_representation


def _row(plan: list[tuple], row: dict) -> dict:
    # None stays None, as DRF's Serializer.to_representation does before any field sees it.
    return {name: None if (v := row[col]) is None else conv(v) if conv else v for name, col, conv in plan}


_ROW_PLANS: dict[tuple, list[tuple]] = {}


class RowListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        plan = self.child.row_plan()  # chosen once per page
        return [_row(plan, row) for row in data]


class RowSerializer(serializers.ModelSerializer):
    """Reads a `QuerySet.values()` row; each field's `source` names its column."""

    class Meta:
        list_serializer_class = RowListSerializer

    def row_plan(self) -> list[tuple]:
        # Building a ModelSerializer's fields is a model introspection: once per class and time zone.
        key = (type(self), timezone.get_current_timezone_name())
        if key not in _ROW_PLANS:
            _ROW_PLANS[key] = [(f.field_name, f.source, _converter(f)) for f in self._readable_fields]
        return _ROW_PLANS[key]

    def to_representation(self, instance):
        return _row(self.row_plan(), instance)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The columns a `.values()` queryset must select for this serializer."""
        return tuple(column for _, column, _ in cls().row_plan())


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
        ]

    def get_stats_url(self, obj) -> str:
        return reverse("api:outflow-stat-list", request=self.context.get("request")) + f"?run={obj.pk}"


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
