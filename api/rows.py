"""Rows for the two big lists (transfers, outflow stats): values the JSON renderer writes as they are.

A page of 100 transfers through DRF's fields costs about 3 ms of CPU in the worker: a getattr
chain, a time zone conversion and a decimal quantize per value, then the JSON encoder. Here
the query selects each field's value in the form its JSON needs, derived from the
serializer's own fields (so the documented schema and the rows cannot drift apart):

* a decimal shown as a string is cast to text by PostgreSQL: a numeric(p, s) column prints
  exactly s decimals in plain notation, which is what DRF's quantize writes;
* a decimal shown as a number is cast to double precision, as DRF's encoder writes float(value);
* a datetime stays a datetime, moved into the current time zone; the renderer (orjson, with
  OPT_UTC_Z) writes it as DRF's DateTimeField does: ISO 8601, microseconds only when there are
  any, "Z" for +00:00;
* integers and strings are the column itself.

Each row is then one `dict(zip(...))`. A field this module cannot write exactly as DRF does
is refused when the plan is built. Other databases (the embedded SQLite demo) select the plain
columns and show them through DRF's own fields, as does PostgreSQL with the shortcut off
(API_FAST_PATHS["sql_rows"]: `vendor` STANDARD). tests/api/test_rows.py compares both ways.
"""

from dataclasses import dataclass
from datetime import tzinfo

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression, F, FloatField, Model, TextField
from django.db.models.functions import Cast
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

POSITION = "id"  # the first column of every row: the cursor's position (api.pagination)
STANDARD = "standard"  # the `vendor` of the standard path: plain columns shown through DRF's own fields


@dataclass(frozen=True)
class RowPlan:
    names: tuple[str, ...]  # the JSON keys, in the serializer's order
    sources: tuple[str, ...]  # the column (or annotation) each field reads
    columns: tuple[Expression, ...]  # what the query selects for each key
    datetimes: tuple[str, ...]  # keys whose datetime is moved into `zone`
    zone: tzinfo
    written_by_sql: bool  # False: the values go through DRF's own fields


def _column(field: serializers.Field, model: type[Model]) -> Expression | None:
    """The SQL selecting `field`'s value as its JSON needs it (PostgreSQL); None if there is none."""
    column = F(field.source)
    if isinstance(field, serializers.DateTimeField):
        if getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601:
            return column
    elif isinstance(field, serializers.DecimalField):
        if field.localize or field.normalize_output:
            return None
        if not getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING):
            return Cast(column, FloatField())
        if model._meta.get_field(field.source).decimal_places == field.decimal_places:
            return Cast(column, TextField())
    elif type(field) in (serializers.CharField, serializers.IntegerField, serializers.ChoiceField):
        return column  # the str / int that DRF shows
    elif type(field) is serializers.BigIntegerField:
        return None if getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING) else column
    return None


def row_plan(serializer: serializers.ModelSerializer, zone: tzinfo, vendor: str) -> RowPlan:
    fields = list(serializer._readable_fields)
    if not fields or fields[0].field_name != POSITION or fields[0].source != POSITION:
        raise ImproperlyConfigured(f"{type(serializer).__name__}: the first field of a row must be `{POSITION}`")
    names = tuple(f.field_name for f in fields)
    sources = tuple(f.source for f in fields)
    datetimes = tuple(f.field_name for f in fields if isinstance(f, serializers.DateTimeField))
    if vendor == "postgresql":
        model = serializer.Meta.model
        columns = tuple(_column(f, model) for f in fields)
        for field, column in zip(fields, columns, strict=True):
            if column is None:
                kind = type(field).__name__
                raise ImproperlyConfigured(f"{field.field_name}: no SQL selects a {kind} as DRF shows it")
        return RowPlan(names, sources, columns, datetimes, zone, written_by_sql=True)
    return RowPlan(names, sources, tuple(F(s) for s in sources), datetimes, zone, written_by_sql=False)


def row_dict(plan: RowPlan, row: tuple) -> dict:
    """One row (a tuple in the plan's order) as the dict the renderer writes."""
    shown = dict(zip(plan.names, row, strict=True))
    for name in plan.datetimes:
        if (value := shown[name]) is not None:
            shown[name] = value.astimezone(plan.zone)
    return shown
