"""Bulk feeds (issue 19 item 4): a whole selection of transfers, stats or flags as CSV or Parquet.

`GET /api/v1/exports/{transfers,stats,flags}` takes the list endpoint's filters (same filterset,
same scope, same visibility: api.views) and streams every selected row, ordered by id:

* **CSV** straight from PostgreSQL's `COPY (<the selection>) TO STDOUT (FORMAT csv)`: the rows are
  never turned into Python objects; the bytes are gathered into 1 MiB chunks and streamed.
* **Parquet**: the same COPY stream parsed by pyarrow's streaming CSV reader, one row group per
  block, each written out as soon as it is made (memory: a block, not the selection).

The selection's SQL is the ORM's own (`QuerySet.query.sql_with_params()`): the access rule and the
filters are written once, for the JSON list and the feed alike; this module is the one place that
turns a queryset into a COPY, and tests/api/test_feeds.py pins the feed's rows to the JSON list's.

Watermark (resuming without gaps or repeats). Every row has a change time (`updated_at`; a stat,
its run's). The feed sends the rows changed before a watermark W and says W in the
`X-Feed-Watermark` header; the next pull asks `updated_since=W`. W is the start of the oldest
transaction still open on the database when the export begins (or now, if none is): a row changed
before W was written by a transaction that has ended, so the export's snapshot, taken after W,
sees it, and a row written later carries a time at or after W and comes with the next pull. A
broken download is resumed with `until=W&after_id=<last id received>` (same other filters).
Only client sessions count (an autovacuum worker's transaction writes no rows of ours). A
session left idle in a transaction holds the watermark back (rows come later, never lost).
Seeing other sessions' `xact_start` needs the same database role (the portal's `portal_app`) or
pg_read_all_stats.

Free-text columns (ids the filer typed, subjects) are escaped against formula injection in SQL:
a cell starting with = + - @ or a tab/CR gets a leading apostrophe, as config/spreadsheets.py does.
On SQLite (the embedded default) the same rows are written through Python's csv module.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models, transaction
from django.db.models import Case, CharField, Expression, F, Model, QuerySet, Value, When
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import Regex
from django.utils import timezone
from rest_framework import serializers

from config.spreadsheets import FORMULA_TRIGGERS

CHUNK_BYTES = 1 << 20
PARQUET_BLOCK_BYTES = 8 << 20
# A cell starting with one of config.spreadsheets' formula triggers, as a regular expression.
FORMULA_START = "^[" + "".join("\\" + c if c in "-]\\^" else c for c in FORMULA_TRIGGERS) + "]"
CSV_TYPE = "text/csv; charset=utf-8"
PARQUET_TYPE = "application/vnd.apache.parquet"
FORMATS = {"csv": CSV_TYPE, "parquet": PARQUET_TYPE}


@dataclass(frozen=True)
class Column:
    name: str  # header / Parquet field: the JSON list's key
    source: str  # ORM path (or annotation) on the feed's queryset
    arrow: str  # int64 | string | timestamp | date | bool | decimal:P,S
    text: bool  # a string cell: escaped against formula injection


@dataclass(frozen=True)
class Feed:
    name: str
    time_field: str  # the change time the watermark reads
    columns: tuple[Column, ...]


# The feeds and the change time of their rows; their columns are the JSON list's (feed_for).
TIME_FIELDS = {"transfers": "updated_at", "stats": "run__updated_at", "flags": "updated_at"}


def _model_field(model: type[Model], path: str):
    """The model field at the end of an ORM path ("operator__unp"), or None (an annotation)."""
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


def _arrow_name(field, serializer_field) -> str:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.DecimalField):
        return f"decimal:{field.max_digits},{field.decimal_places}"
    if isinstance(field, models.DateTimeField):
        return "timestamp"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.IntegerField | models.AutoField):
        return "int64"
    if field is None and isinstance(serializer_field, serializers.IntegerField):
        return "int64"
    return "string"


def feed_for(*, name: str, serializer_class: type[serializers.ModelSerializer]) -> Feed:
    """The feed `name` with the columns of the JSON list's serializer, in its order."""
    model = serializer_class.Meta.model
    columns = []
    for field in serializer_class().fields.values():
        if isinstance(field, serializers.SerializerMethodField):
            continue
        source = field.source
        if isinstance(field, serializers.SlugRelatedField):
            source = f"{source}__{field.slug_field}"
        arrow = _arrow_name(_model_field(model, source), field)
        columns.append(Column(field.field_name, source, arrow, text=arrow == "string"))
    return Feed(name, TIME_FIELDS[name], tuple(columns))


def feed_watermark() -> datetime:
    """The start of the oldest transaction open on this database (other than ours), or now."""
    if connection.vendor != "postgresql":
        return timezone.now()  # the embedded default: one process writes, between requests
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT least(clock_timestamp(), min(xact_start)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            # Client sessions only: autovacuum (hours on a big table) never writes a row of ours.
            " AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def _safe_text(expression: Expression) -> Expression:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (in SQL)."""
    text = Cast(expression, CharField())
    return Case(When(Regex(text, Value(FORMULA_START)), then=Concat(Value("'"), text)), default=text)


def feed_rows(*, feed: Feed, queryset: QuerySet, until: datetime, after_id: int | None) -> QuerySet:
    """The feed's selection: `queryset` (already restricted and filtered by the list's rules) changed
    before `until`, after `after_id`, ordered by id, as tuples in the feed's column order."""
    queryset = queryset.filter(**{f"{feed.time_field}__lt": until})
    if after_id is not None:
        queryset = queryset.filter(id__gt=after_id)
    names = {}
    for column in feed.columns:
        source = F(column.source)
        names[f"feed_{column.name}"] = _safe_text(source) if column.text else source
    return queryset.order_by().annotate(**names).order_by("id").values_list(*names)


def _header(feed: Feed) -> bytes:
    return (",".join(c.name for c in feed.columns) + "\n").encode()


def _row_chunks(rows: QuerySet, counter: list[int], chunk_bytes: int) -> Iterator[bytes]:
    """The rows as CSV (no header), in chunks of whole rows of about `chunk_bytes`."""
    if connection.vendor != "postgresql":
        yield from _python_csv(rows, counter, chunk_bytes)
        return
    sql, params = rows.query.sql_with_params()
    raw = connection.cursor().connection  # the psycopg connection
    # In a transaction (or a savepoint) of its own: a download broken off cancels the COPY, and the
    # rollback leaves the connection as it was for what follows (the audit event).
    with (
        transaction.atomic(),
        raw.cursor() as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy,
    ):
        buffer = bytearray()
        n = 0
        for data in copy:  # one row at a time: a chunk never ends inside a row
            buffer += data
            n += 1
            if len(buffer) >= chunk_bytes:
                counter[0] = n
                yield bytes(buffer)
                buffer.clear()
        counter[0] = n
        if buffer:
            yield bytes(buffer)


def csv_stream(*, feed: Feed, rows: QuerySet, counter: list[int]) -> Iterator[bytes]:
    """The header line, then every row as CSV in 1 MiB chunks; `counter[0]` counts the rows sent."""
    yield _header(feed)
    yield from _row_chunks(rows, counter, CHUNK_BYTES)


def _python_csv(rows: QuerySet, counter: list[int], chunk_bytes: int) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for n, row in enumerate(rows.iterator(chunk_size=2000), start=1):
        writer.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in row])
        counter[0] = n
        if out.tell() >= chunk_bytes:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode()


def _arrow_type(name: str):
    import pyarrow as pa  # loaded by the Parquet feed only (50 MB a process)

    if name.startswith("decimal:"):
        precision, scale = (int(x) for x in name[8:].split(","))
        return pa.decimal128(precision, scale)
    return {
        "int64": pa.int64(),
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "bool": pa.bool_(),
    }[name]


class _Sink(io.RawIOBase):
    """Where the Parquet writer writes; drained after each row group."""

    def __init__(self):
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def parquet_stream(*, feed: Feed, rows: QuerySet, counter: list[int]) -> Iterator[bytes]:
    """The same rows as Parquet: each 8 MiB chunk of CSV rows parsed by pyarrow into one row group,
    written out at once. Parsed here, chunk by chunk: pyarrow's streaming reader would pull the
    COPY from a thread of its own, away from this thread's database connection."""
    import pyarrow as pa  # loaded by the Parquet feed only (50 MB a process)
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema([(c.name, _arrow_type(c.arrow)) for c in feed.columns])
    read = pacsv.ReadOptions(column_names=schema.names, use_threads=False)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types=schema,
        strings_can_be_null=True,  # COPY writes NULL unquoted and an empty string as ""
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
        timestamp_parsers=["%Y-%m-%d %H:%M:%S%z", pacsv.ISO8601],
    )
    sink = _Sink()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for chunk in _row_chunks(rows, counter, PARQUET_BLOCK_BYTES):
            table = pacsv.read_csv(
                pa.BufferReader(chunk), read_options=read, parse_options=parse, convert_options=convert
            )
            writer.write_table(table)
            yield sink.drain()
    if data := sink.drain():
        yield data
