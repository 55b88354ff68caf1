"""PostgreSQL reader: `COPY (SELECT ...) TO STDOUT (FORMAT BINARY)` pulled by compiled code.

Hand-written protocol code, kept because it is faster than the library path
by more than the issue's 25 % rule (figures: bench/README_outflows.md,
"Readers"); `OUTFLOW_READER` turns it off (outflows/readers/__init__.py).
libpq's PQgetCopyData is called through ctypes from numba (the libpq psycopg
loaded, found in /proc/self/maps); a run that owns its REPEATABLE READ
transaction reads the table as two block ranges on two connections sharing
one exported snapshot. The rows are decoded by outflows/readers/binary.py.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import re
from collections.abc import Sequence

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Max
from numba import njit
from psycopg import pq
from psycopg import sql as psycopg_sql

from operators.models import ForeignPlatform, Operator
from outflows.readers.binary import _decode, _Decoder, _int4
from outflows.readers.raw import RawTransfers
from outflows.readers.source import transfer_source

# investor_ref first (text), then a timestamp, a numeric and an int8. Every column
# and every expression costs the server per row, and the server's COPY is most of
# the read: so platform, operator and direction travel packed in one int8, the ids
# and update times for the fingerprint come from one aggregate query instead, and
# value_byn goes out as the stored numeric, decoded here (not the server's numeric
# arithmetic `(value_byn * 100)::bigint`, which costs it per row).
# Binary timestamps are int8 microseconds.
COPY_SQL = """
COPY (
    SELECT investor_ref, occurred_at, value_byn,
           (platform_id << 32) | (operator_id << 1) | (direction = 'IN')::int
    FROM {}
    WHERE occurred_at <= {}{}
) TO STDOUT (FORMAT BINARY)
"""


# The same with the variants' columns (outflows.variants): amount and asset ride at the end.
COPY_SQL_VARIANTS = COPY_SQL.replace("(direction = 'IN')::int\n", "(direction = 'IN')::int, amount, asset\n")
assert COPY_SQL_VARIANTS != COPY_SQL


def _partition_filter(partition: tuple[int, int] | None) -> psycopg_sql.Composable:
    """Rows of partition p of n: a hash of the investor_ref, so every pair of an investor lies in one
    partition (a pair never spans two; the investor-level variant and distinct investors add up)."""
    if partition is None:
        return psycopg_sql.SQL("")
    p, n = partition
    return psycopg_sql.SQL(" AND abs(hashtextextended(investor_ref, 0) % {}) = {}").format(
        psycopg_sql.Literal(n), psycopg_sql.Literal(p)
    )


def read_transfers_copy(
    *,
    as_of: dt.datetime,
    expected_rows: int = 0,
    partition: tuple[int, int] | None = None,
    filings: Sequence[int] | None = None,
) -> RawTransfers:
    """PostgreSQL reader: COPY streams pulled and decoded by compiled code, 1 MB buffer each.

    Run it inside a REPEATABLE READ transaction (the service does). At national
    scale the server's COPY is the slowest part, and it is single-threaded: when
    this transaction may share its snapshot (see `_may_split`), the table is
    read as two block ranges by two server processes, one on each core, both
    consumed here into one decoder (the investor codes stay one dense set).
    Memory is the decoded arrays, never the stream. partition=(p, n) reads only
    the pairs of partition p of n (see `_partition_filter`). filings: only the live and archived
    rows of these filings (a re-derivation, outflows/readers/source.py), in one stream.
    """
    functions = _copy_functions()
    if functions is None:
        raise RuntimeError("the COPY reader needs the libpq psycopg uses (Linux); use reader='orm'")
    connection.ensure_connection()
    decoder = _Decoder(expected_rows, variants=settings.OUTFLOW_VARIANTS)
    copy_sql = COPY_SQL_VARIANTS if decoder.variants else COPY_SQL
    with contextlib.ExitStack() as stack:
        sources = [connection.connection]
        split_at = ""
        if filings is None and expected_rows >= SPLIT_MIN_ROWS and _may_split():
            snapshot, blocks = _snapshot_and_blocks()
            if blocks >= 2:
                sources.append(stack.enter_context(_connection_on_snapshot(snapshot)))
                split_at = f"({blocks // 2},0)"
        streams = []
        for i, pg in enumerate(sources):
            where = _partition_filter(partition)
            if split_at:
                where += psycopg_sql.SQL(" AND ctid {} {}::tid").format(
                    psycopg_sql.SQL("<" if i == 0 else ">="), psycopg_sql.Literal(split_at)
                )
            query = psycopg_sql.SQL(copy_sql).format(transfer_source(filings), psycopg_sql.Literal(as_of), where)
            query = query.as_bytes(pg)
            streams.append(_CopyStream(pg.pgconn, query))
            stack.callback(streams[-1].finish)
        active = list(streams)
        while active:
            for stream in list(active):
                decoder.row, stream.status = _pull(
                    functions, stream.pgconn.pgconn_ptr, stream.slot, stream.buf, stream.at, decoder.row,
                    decoder.out, decoder.inv, decoder.table, decoder.store, decoder.state,
                    decoder.str_loc, decoder.str_hash, decoder.assets, decoder.tickers,
                )  # fmt: skip
                if stream.status == PULL_ROOM:
                    decoder.grow()
                elif stream.status != PULL_MORE:
                    active.remove(stream)
        for stream in streams:
            stream.finish()
            stream.check()
    return decoder.raw()


SPLIT_MIN_ROWS = 500_000  # below this one stream is as fast (a second connection costs a few ms)


def _may_split() -> bool:
    """A second connection sees exactly this transaction's rows: REPEATABLE READ, nothing written yet.

    It imports this transaction's snapshot, which only a REPEATABLE READ (or
    SERIALIZABLE) transaction has for its whole life; and it cannot see rows
    this transaction wrote, so only a transaction that is one atomic block deep
    (the run's own read transaction, not a test's or a caller's) qualifies.
    """
    if len(connection.atomic_blocks) != 1:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        return cursor.fetchone()[0] in ("repeatable read", "serializable")


def _snapshot_and_blocks() -> tuple[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_export_snapshot(), "
            "pg_relation_size('outflows_crossbordertransfer') / current_setting('block_size')::bigint"
        )
        snapshot, blocks = cursor.fetchone()
    return snapshot, int(blocks)


@contextlib.contextmanager
def _connection_on_snapshot(snapshot: str):
    """A second connection reading the exported snapshot (the same rows as the first, to the row)."""
    params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
    with psycopg.connect(**params, autocommit=True) as pg:
        pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        pg.execute(psycopg_sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg_sql.Literal(snapshot)))
        try:
            yield pg
        finally:
            if not pg.closed and pg.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
                pg.execute("ROLLBACK")


class _CopyStream:
    """One COPY ... TO STDOUT in progress on one libpq connection, with its pull buffer and position."""

    def __init__(self, pgconn, query: bytes) -> None:
        self.pgconn = pgconn
        self.slot = np.zeros(1, np.int64)
        self.buf = np.empty(PULL_BUFFER_BYTES, np.uint8)
        self.at = np.zeros(4, np.int64)  # pos, fill, header_done, ended (see _pull)
        self.status = PULL_MORE
        self.failure = None
        _copy_start(pgconn, query)

    def finish(self) -> None:
        """Drain the stream and its results, once (the connection stays usable)."""
        if self.failure is None:
            self.failure = _copy_finish(self.pgconn, ended=bool(self.at[3]))

    def check(self) -> None:
        if self.failure or self.status == PULL_ERROR:
            raise psycopg.OperationalError(self.failure or self.pgconn.get_error_message().decode(errors="replace"))
        if self.status != PULL_DONE:
            raise RuntimeError(PULL_FAILURES.get(self.status, f"COPY pull failed ({self.status})"))


def _copy_start(pgconn, query: bytes) -> None:
    pgconn.send_query(query)
    while pgconn.flush():
        pass
    result = pgconn.get_result()
    if result.status != pq.ExecStatus.COPY_OUT:
        message = result.get_error_message()
        while pgconn.get_result() is not None:
            pass
        raise psycopg.DatabaseError(message)


def _copy_finish(pgconn, *, ended: bool) -> str:
    """Drain what is left of the stream and its results (the connection stays usable); the error, if any."""
    while not ended and pgconn.get_copy_data(0)[0] > 0:
        pass
    failure = ""
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            failure = result.get_error_message().decode(errors="replace")
    return failure


# --- Pulling the stream: libpq's PQgetCopyData called from compiled code ------------------------------
#
# The server sends one CopyData message per row. Pulled from Python (a call, a bytes
# object and a buffer append per row) the client used a whole core beside the
# server's; here compiled code calls libpq, and the rows are decoded every
# DECODE_BYTES while the server produces the next ones.
# The functions must be those of the libpq psycopg has loaded (its wheel bundles its
# own): a PGconn belongs to the library that made it.

PULL_BUFFER_BYTES = 1 << 20  # a row is a few hundred bytes at most (varchar(64) investor_ref)
DECODE_BYTES = 64 << 10  # about a thousand rows: full batches for _decode, the server never waits long
PULL_ROOM, PULL_DONE, PULL_ERROR, PULL_EARLY_END, PULL_BAD_HEADER, PULL_HUGE_ROW, PULL_MORE = range(7)
PULL_FAILURES = {
    PULL_EARLY_END: "COPY stream ended without its trailer",
    PULL_BAD_HEADER: "not a PostgreSQL binary COPY stream",
    PULL_HUGE_ROW: "a COPY row larger than the pull buffer",
}
_SIGNATURE = np.frombuffer(b"PGCOPY\n\xff\r\n\x00", np.uint8)


def _loaded_libpq() -> ctypes.CDLL | None:
    """The libpq shared library mapped into this process (Linux: /proc/self/maps), or None."""
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # pointers are passed as int64 below
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if re.search(r"/libpq[-.][^/]*so[^/]*$", path):
                    return ctypes.CDLL(path)
    except OSError:
        pass
    return None


@functools.cache
def _copy_functions() -> tuple | None:
    """(PQgetCopyData, PQfreemem, memcpy) as ctypes functions for `_pull`, or None where libpq is not found."""
    psycopg.pq.version()  # makes sure psycopg has loaded its libpq
    libpq = _loaded_libpq()
    if libpq is None:
        return None
    # Fresh function objects (CDLL[...]), so psycopg's own ctypes bindings keep their signatures.
    # Pointers travel as int64: the same registers and bits on every 64-bit ABI.
    get_copy_data = libpq["PQgetCopyData"]
    get_copy_data.argtypes, get_copy_data.restype = [ctypes.c_int64, ctypes.c_int64, ctypes.c_int], ctypes.c_int
    free_mem = libpq["PQfreemem"]
    free_mem.argtypes, free_mem.restype = [ctypes.c_int64], None
    memcpy = ctypes.CDLL(None)["memcpy"]
    memcpy.argtypes, memcpy.restype = [ctypes.c_int64, ctypes.c_int64, ctypes.c_int64], ctypes.c_int64
    return get_copy_data, free_mem, memcpy


# The C functions come in as arguments (numba's first-class functions), not as globals,
# so the compiled loop is cached on disk like the rest of the engine.
@njit(cache=True, nogil=True)
def _pull(functions, conn, slot, buf, at, row, out, inv, table, store, state, str_loc, str_hash, assets, tickers):
    """Pull rows into buf and decode them: returns after each DECODE_BYTES chunk (PULL_MORE),
    at the end (PULL_DONE), on an error, or when the decoder is full (PULL_ROOM: grow it).

    at = [pos, fill, header_done, ended], kept between calls.
    """
    get_copy_data, free_mem, memcpy = functions
    base = buf.ctypes.data
    half = buf.shape[0] // 2
    pos, fill, header_done, ended = at[0], at[1], at[2], at[3]
    status = PULL_ROOM
    while True:
        if not header_done and fill - pos >= 19:
            for k in range(11):
                if buf[pos + k] != _SIGNATURE[k]:
                    status = PULL_BAD_HEADER
                    break
            if status == PULL_BAD_HEADER:
                break
            pos += 19 + _int4(buf, pos + 15)  # + the header extension
            header_done = 1
        if header_done and (ended or fill - pos >= DECODE_BYTES):
            pos, row, decoded = _decode(buf, pos, fill, row, out, inv, table, store, state, str_loc, str_hash,
                                        assets, tickers)  # fmt: skip
            if decoded == 1:
                status = PULL_DONE
                break
            if decoded == 2:
                status = PULL_ROOM
                break
            if not ended:
                status = PULL_MORE  # a chunk decoded: the caller may serve another stream
                break
        if ended:
            status = PULL_EARLY_END
            break
        if pos >= half:  # keep the partial row at the front (no overlap: fill - pos <= pos)
            buf[: fill - pos] = buf[pos:fill]
            fill -= pos
            pos = 0
        n = get_copy_data(conn, slot.ctypes.data, 0)
        if n == -1:
            ended = 1  # decode what is buffered (the trailer is in it), then stop
            continue
        if n < 0:
            status = PULL_ERROR
            break
        if fill + n > buf.shape[0]:
            free_mem(slot[0])
            status = PULL_HUGE_ROW
            break
        memcpy(base + fill, slot[0], n)
        free_mem(slot[0])
        fill += n
    at[0], at[1], at[2], at[3] = pos, fill, header_done, ended
    return row, status


def ids_fit_packing() -> bool:
    # COPY_SQL packs platform and operator ids into 31 bits each; bigger ids (never seen
    # in a registry of thousands) take the portable reader rather than a wrong figure.
    limit = 1 << 31
    return (Operator.objects.aggregate(m=Max("id"))["m"] or 0) < limit and (
        ForeignPlatform.objects.aggregate(m=Max("id"))["m"] or 0
    ) < limit


def copy_reader_available() -> bool:
    """The COPY reader works here: PostgreSQL, the libpq functions found, ids that fit its packing."""
    return connection.vendor == "postgresql" and _copy_functions() is not None and ids_fit_packing()


def warm_up() -> RawTransfers:
    """Load the reader's compiled functions from numba's disk cache (or compile them), without a database:
    the decode on a one-row stream and the pull on no connection (libpq answers -2 at once).

    Returns the one decoded row, for the caller to warm the fingerprint on.
    """
    decoder = _Decoder(2)
    # One row of a binary COPY stream with one field, the name "inv", then the trailer.
    one_row = np.frombuffer(b"\x00\x01\x00\x00\x00\x03inv\xff\xff", np.uint8).copy()
    decoder.row = _decode(one_row, 0, len(one_row), 0, decoder.out, decoder.inv, decoder.table, decoder.store,
                          decoder.state, decoder.str_loc, decoder.str_hash, decoder.assets,
                          decoder.tickers)[1]  # fmt: skip
    functions = _copy_functions()
    if functions is not None:
        _pull(functions, 0, np.zeros(1, np.int64), np.empty(1 << 17, np.uint8), np.zeros(4, np.int64), 0,
              decoder.out, decoder.inv, decoder.table, decoder.store, decoder.state, decoder.str_loc,
              decoder.str_hash, decoder.assets, decoder.tickers)  # fmt: skip
    decoder.out[:, : decoder.row] = 0  # the one-column row set no numbers
    return decoder.raw()
