"""Library reader: the COPY reader's query through ADBC (adbc-driver-postgresql) into Arrow.

The same SELECT as `COPY_SQL` (outflows/readers/pgcopy.py), fetched by the ADBC
PostgreSQL driver into an Arrow table; investor_ref is dictionary-encoded by
pyarrow (exact: equal strings, one code), value_byn (numeric, which the driver
delivers as text) cast to decimal128(18,2) and read as whole kopecks. Only
where the packages are installed (`available()`): they are not in
requirements.in (bench/README_outflows.md, "Readers", says why).

ADBC opens connections of its own. They read this transaction's rows only by
importing its snapshot, which a REPEATABLE READ transaction owned by the run
can export (`outflows.readers.pgcopy._may_split`); outside a transaction they
read what is committed. Inside a caller's transaction (whose own writes
another connection cannot see) `can_read_here()` is False.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from collections.abc import Sequence

import numpy as np
from django.db import connection
from numba import njit
from psycopg import sql as psycopg_sql

from outflows.readers.pgcopy import SPLIT_MIN_ROWS, _may_split, _partition_filter, _snapshot_and_blocks
from outflows.readers.raw import RawTransfers
from outflows.readers.source import transfer_source

try:
    import adbc_driver_postgresql.dbapi as adbc_postgresql
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # optional: not in requirements.in
    adbc_postgresql = pa = pc = None

SELECT_SQL = """
SELECT investor_ref, occurred_at, value_byn,
       (platform_id << 32) | (operator_id << 1) | (direction = 'IN')::int
FROM {}
WHERE occurred_at <= {}{}
"""


def available() -> bool:
    """ADBC and pyarrow are installed and the database is PostgreSQL."""
    return adbc_postgresql is not None and connection.vendor == "postgresql"


def can_read_here() -> bool:
    """Another connection sees the rows this one sees: no transaction, or the run's own REPEATABLE READ one."""
    connection.ensure_connection()
    return not connection.in_atomic_block or _may_split()


def _conninfo() -> str:
    params = connection.get_connection_params()
    keys = ("host", "port", "dbname", "user", "password", "sslmode")
    return " ".join(f"{k}='{params[k]}'" for k in keys if params.get(k) not in (None, ""))


def _fetch(query: str, snapshot: str | None):
    """One ADBC connection: the query's Arrow table, read on `snapshot` when given."""
    with adbc_postgresql.connect(_conninfo(), autocommit=True) as conn, conn.cursor() as cursor:
        if snapshot is not None:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        try:
            cursor.execute(query)
            return cursor.fetch_arrow_table()
        finally:
            if snapshot is not None:
                cursor.execute("ROLLBACK")


def read_transfers_adbc(
    *,
    as_of: dt.datetime,
    expected_rows: int = 0,
    partition: tuple[int, int] | None = None,
    filings: Sequence[int] | None = None,
) -> RawTransfers:
    """Read through ADBC: one connection, or two on an exported snapshot (two block ranges, two threads)
    in a run's own REPEATABLE READ transaction at SPLIT_MIN_ROWS or more, like the COPY reader
    (one connection for the rows of `filings`: a re-derivation, outflows/readers/source.py)."""
    if not available():
        raise RuntimeError("the ADBC reader needs adbc-driver-postgresql and pyarrow, and PostgreSQL")
    if not can_read_here():
        raise RuntimeError("the ADBC reader cannot see a caller's transaction; use reader='copy' or 'orm'")
    connection.ensure_connection()
    pg = connection.connection
    base = psycopg_sql.SQL(SELECT_SQL)
    where = _partition_filter(partition)
    snapshot, parts = None, [where]
    if connection.in_atomic_block:
        snapshot, blocks = _snapshot_and_blocks()
        if filings is None and expected_rows >= SPLIT_MIN_ROWS and blocks >= 2:
            split_at = psycopg_sql.Literal(f"({blocks // 2},0)")
            parts = [
                where + psycopg_sql.SQL(" AND ctid < {}::tid").format(split_at),
                where + psycopg_sql.SQL(" AND ctid >= {}::tid").format(split_at),
            ]
    source = transfer_source(filings)
    queries = [base.format(source, psycopg_sql.Literal(as_of), part).as_string(pg) for part in parts]
    if len(queries) == 1:
        tables = [_fetch(queries[0], snapshot)]
    else:
        with concurrent.futures.ThreadPoolExecutor(len(queries)) as pool:
            tables = list(pool.map(lambda q: _fetch(q, snapshot), queries))
    return _to_raw(pa.concat_tables(tables))


def _to_raw(table) -> RawTransfers:
    names = table.column(0).combine_chunks()
    if names.null_count:
        raise RuntimeError("investor_ref is NULL")
    encoded = pc.dictionary_encode(names)
    dictionary = encoded.dictionary
    start = dictionary.offset
    offsets = np.frombuffer(dictionary.buffers()[1], np.int32)[start : start + len(dictionary) + 1]
    data = np.frombuffer(dictionary.buffers()[2] or b"", np.uint8)
    value = table.column(2)
    if isinstance(value.type, pa.BaseExtensionType):
        value = pa.chunked_array([chunk.storage for chunk in value.chunks], type=value.type.storage_type)
    kopecks = _decimal_low_words(pc.cast(value, pa.decimal128(18, 2)).combine_chunks())
    packed = table.column(3).combine_chunks().to_numpy(zero_copy_only=False)
    return RawTransfers(
        investor=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        investor_hash=_fnv1a_each(offsets, data),
        platform_id=packed >> 32,
        occurred_at=table.column(1).combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False),
        is_in=(packed & 1) == 1,
        operator_id=(packed & 0xFFFFFFFF) >> 1,
        value=kopecks,
    )


def _decimal_low_words(array) -> np.ndarray:
    """decimal128(18, 2) values as int64 kopecks: the low word of each (|value| < 10**18 fits it exactly)."""
    if array.null_count:
        raise RuntimeError("value_byn is NULL")
    words = np.frombuffer(array.buffers()[1], np.int64)
    return words[2 * array.offset : 2 * (array.offset + len(array)) : 2].copy()


@njit(cache=True, nogil=True)
def _fnv1a_each(offsets, data):
    # FNV-1a 64 of each string's UTF-8 bytes, as engine.fnv1a64 and the COPY decoder compute it.
    out = np.empty(offsets.shape[0] - 1, np.uint64)
    for i in range(out.shape[0]):
        h = np.uint64(0xCBF29CE484222325)
        for k in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[k])) * np.uint64(0x100000001B3)
        out[i] = h
    return out
