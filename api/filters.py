"""django-filter filtersets of the API. Every list has `updated_since` (ISO 8601; naive = Europe/Minsk)."""

import re
from datetime import UTC

import django_filters as filters
from django import forms
from django_filters import fields as filter_fields
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

from api.selectors import STILL_ACCEPTED
from audits.models import Flag, FlagStatus, Severity
from operators.models import (
    Activity,
    FilingError,
    FilingKind,
    FilingStatus,
    ForeignPlatform,
    Operator,
    OperatorStatus,
    RegistrationFiling,
)
from outflows.models import (
    CrossBorderTransfer,
    Dimension,
    Direction,
    OutflowRun,
    OutflowRunFiling,
    OutflowStat,
    RunStatus,
)

# "...T00:00:00+03:00" typed into a URL arrives as "...T00:00:00 03:00" (the "+" decoded as a space).
_SPACE_OFFSET = re.compile(r"(T\d\d:\d\d(:\d\d(\.\d{1,6})?)?) (\d\d(:?\d\d)?)$")
# Python's fromisoformat also takes compact forms ("20250101T..."); the API documents only the extended one.
_ISO_EXTENDED = re.compile(
    r"^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d(:?\d\d)?)?)?$", re.IGNORECASE
)


class IsoDateTimeField(filter_fields.IsoDateTimeField):
    input_formats = [filter_fields.IsoDateTimeField.ISO_8601, "%Y-%m-%d"]

    def to_python(self, value):
        if isinstance(value, str):
            value = _SPACE_OFFSET.sub(r"\1+\4", value.strip())
            if value and not _ISO_EXTENDED.match(value):
                raise forms.ValidationError("Expected ISO 8601, e.g. 2026-11-28T00:00:00Z.", code="invalid")
        result = super().to_python(value)
        if result is not None:
            try:
                # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts,
                # and year 1 at +14:00 does not exist in UTC (bad input, never a 500).
                result = result.astimezone(UTC)
            except OverflowError as exc:
                raise forms.ValidationError("Date out of range.", code="invalid") from exc
        return result


class IsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = IsoDateTimeField


COHORT_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class CohortField(forms.RegexField):
    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {"invalid": "Expected YYYY-MM."})
        super().__init__(regex=COHORT_PATTERN, **kwargs)


@extend_schema_field(
    {"type": "string", "pattern": COHORT_PATTERN, "description": "Cohort month YYYY-MM, inclusive bound."}
)
class CohortFilter(filters.CharFilter):
    """A cohort bound (YYYY-MM); the all-cohorts rows ("all") are not in a range."""

    field_class = CohortField

    def filter(self, qs, value):
        if value in filters.constants.EMPTY_VALUES:
            return qs
        return qs.exclude(cohort="all").filter(**{f"cohort__{self.lookup_expr}": value})


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is a 400, not silently "no filter"."""

    TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Expected true or false.", code="invalid")


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


_FORM_CLASSES: dict[type, type] = {}


class StrictFilterSet(filters.FilterSet):
    """A typed parameter sent empty (`?updated_since=`) is an error, not a silently ignored filter.

    Free-text parameters may be empty (the schema allows an empty string): they then filter nothing.
    """

    def get_form_class(self):
        # django-filter builds a new form class (a field and a label per filter) for every request;
        # nothing in these filtersets depends on the request, so once per class is the same form.
        # Each form still gets its own copies of the fields (Form.__init__ deep-copies them).
        cls = type(self)
        if cls not in _FORM_CLASSES:
            _FORM_CLASSES[cls] = super().get_form_class()
        return _FORM_CLASSES[cls]

    def is_valid(self) -> bool:
        valid = super().is_valid()
        typed = [name for name, filter_ in self.filters.items() if type(filter_) is not filters.CharFilter]
        for name in sent_empty(self.data, typed):
            self.form.add_error(name, forms.ValidationError("May not be empty.", code="required"))
            valid = False
        return valid


def sent_empty(data, names) -> list[str]:
    """The parameters among `names` sent with an empty value (`?updated_since=`): an error for a typed
    parameter, not a silently ignored filter (the filtersets and the bulk feeds' own parameters)."""
    return [name for name in names if name in data and any(value == "" for value in data.getlist(name))]


def updated_since(field_name: str = "updated_at") -> IsoDateTimeFilter:
    return IsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="gte",
        help_text="Only objects changed at or after this time (ISO 8601, e.g. 2026-11-28T00:00:00Z).",
    )


class OperatorFilter(StrictFilterSet):
    updated_since = updated_since()
    unp = filters.CharFilter(help_text="Exact UNP (9 digits).")
    name = filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")
    status = filters.ChoiceFilter(choices=OperatorStatus.choices)
    activity = filters.ChoiceFilter(choices=Activity.choices)

    class Meta:
        model = Operator
        fields = ["updated_since", "unp", "name", "status", "activity"]


class PlatformFilter(StrictFilterSet):
    updated_since = updated_since()
    slug = filters.CharFilter(method="_slug", help_text="Platform slug (case-insensitive).")
    country = filters.CharFilter(method="_country", help_text="ISO 3166-1 alpha-2 country code.")
    verified = BooleanFilter(help_text="Verified by the SCC.")
    high_risk = BooleanFilter(help_text="In a high-risk jurisdiction.")

    class Meta:
        model = ForeignPlatform
        fields = ["updated_since", "slug", "country", "verified", "high_risk"]

    def _slug(self, queryset, name, value):
        return queryset.filter(slug=value.lower())

    def _country(self, queryset, name, value):
        return queryset.filter(country=value.upper())


class FilingFilter(StrictFilterSet):
    updated_since = updated_since()
    operator = filters.CharFilter(field_name="operator__unp", help_text="Operator UNP.")
    kind = filters.ChoiceFilter(choices=FilingKind.choices)
    status = filters.ChoiceFilter(choices=FilingStatus.choices)
    period_from = filters.DateFilter(field_name="period_start", lookup_expr="gte", help_text="Period starts on/after.")
    period_to = filters.DateFilter(field_name="period_end", lookup_expr="lte", help_text="Period ends on/before.")

    class Meta:
        model = RegistrationFiling
        fields = ["updated_since", "operator", "kind", "status", "period_from", "period_to"]


class FilingErrorFilter(StrictFilterSet):
    updated_since = updated_since("filing__updated_at")
    code = filters.CharFilter(help_text="Error code, e.g. invalid_datetime.")
    column = filters.CharFilter(help_text="Column name as in the file header.")

    class Meta:
        model = FilingError
        fields = ["updated_since", "code", "column"]


class FlagFilter(StrictFilterSet):
    updated_since = updated_since()
    operator = filters.CharFilter(field_name="operator__unp", help_text="Operator UNP.")
    rule = filters.CharFilter(field_name="rule__code", help_text="Rule code, e.g. LATE_FILING.")
    status = filters.ChoiceFilter(choices=FlagStatus.choices)
    severity = filters.ChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Flag
        fields = ["updated_since", "operator", "rule", "status", "severity"]


class TransferFilter(StrictFilterSet):
    updated_since = updated_since()
    operator = filters.CharFilter(field_name="operator__unp", help_text="Reporting operator's UNP.")
    platform = filters.CharFilter(method="_platform", help_text="Platform slug.")
    direction = filters.ChoiceFilter(choices=Direction.choices)
    investor_ref = filters.CharFilter(help_text="Pseudonymous investor id (the same across operators).")
    asset = filters.CharFilter(help_text="Asset ticker, e.g. USDT.")
    filing = filters.NumberFilter(field_name="filing_id", help_text="Source filing id.")
    occurred_from = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="occurred_at >= (ISO).")
    occurred_to = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", help_text="occurred_at < (ISO).")

    class Meta:
        model = CrossBorderTransfer
        fields = [
            "updated_since",
            "operator",
            "platform",
            "direction",
            "investor_ref",
            "asset",
            "filing",
            "occurred_from",
            "occurred_to",
        ]

    def _platform(self, queryset, name, value):
        return queryset.filter(platform__slug=value.lower())


class OutflowRunFilter(StrictFilterSet):
    updated_since = updated_since()
    status = filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = OutflowRun
        fields = ["updated_since", "status"]


class OutflowStatFilter(StrictFilterSet):
    # Stats never change once their run has finished: "changed" means "of a run changed since".
    updated_since = updated_since("run__updated_at")
    run = filters.NumberFilter(
        field_name="run_id", help_text="Run id. Without `run` and `updated_since`: the latest finished run."
    )
    dimension = filters.ChoiceFilter(choices=Dimension.choices)
    key = filters.CharFilter(help_text="`all`, an operator UNP, a platform slug or a country code.")
    cohort_from = CohortFilter(field_name="cohort", lookup_expr="gte", help_text="First cohort, YYYY-MM (inclusive).")
    cohort_to = CohortFilter(field_name="cohort", lookup_expr="lte", help_text="Last cohort, YYYY-MM (inclusive).")
    cohort = filters.CharFilter(help_text="One cohort: YYYY-MM or `all`.")

    class Meta:
        model = OutflowStat
        fields = ["updated_since", "run", "dimension", "key", "cohort_from", "cohort_to", "cohort"]


class RunFilingFilter(StrictFilterSet):
    # A record never changes: "changed" means "its filing changed since" (superseded, most often).
    updated_since = updated_since("filing__updated_at")
    kind = filters.ChoiceFilter(field_name="filing__kind", choices=FilingKind.choices)
    operator = filters.CharFilter(field_name="filing__operator__unp", help_text="Operator UNP.")
    current = BooleanFilter(
        method="_current", help_text="true: still the accepted filing now; false: superseded since the run."
    )

    class Meta:
        model = OutflowRunFiling
        fields = ["updated_since", "kind", "operator", "current"]

    def _current(self, queryset, name, value):
        return queryset.filter(STILL_ACCEPTED) if value else queryset.exclude(STILL_ACCEPTED)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, without the filterset when there is nothing to filter.

    A request whose only parameters are the paginator's (`?page_size=100`, `?cursor=...`) gives
    the filterset no data; with no required filter it would return the queryset unchanged, after
    building and validating a form of empty fields (about 1 ms of CPU per request).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and _nothing_to_filter(request, view, filterset_class):
            return queryset
        return super().filter_queryset(request, queryset, view)


def _nothing_to_filter(request, view, filterset_class) -> bool:
    paginator = getattr(view, "paginator", None)
    paging = {getattr(paginator, "cursor_query_param", None), getattr(paginator, "page_size_query_param", None)}
    if not request.query_params.keys() <= paging:
        return False
    return not any(f.extra.get("required") for f in filterset_class.base_filters.values())
