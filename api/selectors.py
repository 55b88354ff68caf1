"""Reads of the api app."""

import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import F, Field, Model, Q, QuerySet

from api.access import Access
from api.fast_paths import enabled
from api.models import ApiToken
from operators.models import FilingStatus
from outflows.models import OutflowRun, OutflowRunFiling, OutflowRunRegistry


@functools.cache
def _token_query() -> tuple[str, tuple[Field, ...], type[Model], tuple[Field, ...]]:
    """The token and its user (LEFT JOIN) by key hash, as SQL built once from the models' fields."""
    token_meta = ApiToken._meta
    user_model = token_meta.get_field("user").related_model
    user_meta = user_model._meta
    qn = connection.ops.quote_name
    token_fields, user_fields = tuple(token_meta.concrete_fields), tuple(user_meta.concrete_fields)
    columns = [f"t.{qn(f.column)}" for f in token_fields] + [f"u.{qn(f.column)}" for f in user_fields]
    user_id, key_hash = token_meta.get_field("user").column, token_meta.get_field("key_hash").column
    # Names from the models' metadata only; the key hash is a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(token_meta.db_table)} t"  # noqa: S608
        f" LEFT JOIN {qn(user_meta.db_table)} u ON u.{qn(user_meta.pk.column)} = t.{qn(user_id)}"
        f" WHERE t.{qn(key_hash)} = %s"
    )
    return sql, token_fields, user_model, user_fields


def _instance(model: type[Model], fields: tuple[Field, ...], values) -> Model:
    """A model instance from raw column values, converted as the ORM's compiler converts them.

    The backend's converters and then the field's (SQLite's text timestamps become aware
    datetimes, JSON text becomes data), exactly as `SQLCompiler.get_converters` applies them.
    """
    # The connection itself, looked up once: each attribute read through the `connection` proxy
    # is a thread-local lookup; the thirty of them were half of this function's CPU (0.04 ms).
    db = connections[DEFAULT_DB_ALIAS]
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in db.ops.get_db_converters(column) + column.get_db_converters(db):
            value = convert(value, column, db)
        converted.append(value)
    return model.from_db(db.alias, [field.attname for field in fields], converted)


def api_token_by_key_hash(digest: str) -> ApiToken | None:
    """The token with this key hash, its user loaded with it (None for agency tokens).

    Never cached: a revoked or expired token is refused by the very next request. Read on
    every API request; the shortcut (API_FAST_PATHS["token_lookup"]) runs the ORM's query as
    plain SQL built once, the standard path the ORM itself. tests/api/test_fast_paths.py
    compares the two.
    """
    if not enabled("token_lookup"):
        return ApiToken.objects.select_related("user").filter(key_hash=digest).first()
    return _token_by_key_hash_sql(digest)


def _token_by_key_hash_sql(digest: str) -> ApiToken | None:
    sql, token_fields, user_model, user_fields = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token = _instance(ApiToken, token_fields, row[: len(token_fields)])
    if token.user_id is not None:
        token.user = _instance(user_model, user_fields, row[len(token_fields) :])
    return token


class RunNotRecorded(Exception):
    """The run kept no record of what it read: not finished, or finished before runs kept one."""


# A filing the run read is still the accepted one for its operator, kind and period: accepted now, and the
# same file (a filing's SHA-256 never changes; compared anyway, the record is what the run read). Else a
# resubmission superseded it since (its `superseded_by`).
STILL_ACCEPTED = Q(filing__status=FilingStatus.ACCEPTED, filing__sha256=F("sha256"))


def run_filings_read_for_api(*, access: Access, run_id: int | None) -> QuerySet[OutflowRunFiling]:
    """The filings a run read, as it recorded them (outflows.inputs.run_inputs_store: id and SHA-256 of each
    transfer and client register), with each filing and its operator joined in for the API.

    Runs are read by whoever reads everything (agencies and the SCC), as /api/v1/outflows/runs/ is. Raises
    OutflowRun.DoesNotExist for no such run (or one the caller may not read), RunNotRecorded for a run
    without a record. A run that recorded nothing read (no accepted register by its as_of) gives no rows.
    """
    if run_id is None or not access.reads_everything or not OutflowRun.objects.filter(pk=run_id).exists():
        raise OutflowRun.DoesNotExist
    if not OutflowRunRegistry.objects.filter(run_id=run_id).exists():
        raise RunNotRecorded
    return OutflowRunFiling.objects.filter(run_id=run_id).select_related("filing__operator")
