"""Outflow runs: read transfers set-based, compute DESIGN section 5, store the results.

The one public write is outflow_run_compute(). Two readers give the engine the
same arrays (tested): a portable one through the ORM (SQLite, the embedded
default, and any database) and a fast one for PostgreSQL that streams
`COPY (SELECT ...) TO STDOUT (FORMAT BINARY)` through psycopg 3 and decodes it
in one compiled pass. That pass also turns investor_ref strings into dense
integer codes with an exact hash table (the bytes are compared, not only their
hashes), so two investors can never be merged.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from numba import njit
from psycopg import pq
from psycopg import sql as psycopg_sql

from config.errors import REDIS_ERRORS
from filings import leases
from operators.models import ForeignPlatform, Operator, WorkLease
from outflows import engine
from outflows.models import CrossBorderTransfer, Direction, OutflowRun, OutflowStat, RunStatus, TransferChange
from outflows.selectors import STAT_FIELDS

logger = logging.getLogger(__name__)

PG_EPOCH_US = 946_684_800 * 1_000_000  # PostgreSQL's binary timestamps count from 2000-01-01 UTC


@dataclass
class RawTransfers:
    """Transfers with database ids for platform and operator (not yet indexes)."""

    investor: np.ndarray  # int64 dense code
    investor_hash: np.ndarray  # uint64 FNV-1a of investor_ref's UTF-8, per code (stable across readers)
    platform_id: np.ndarray
    occurred_at: np.ndarray  # int64 µs since the Unix epoch
    is_in: np.ndarray  # bool
    operator_id: np.ndarray
    value: np.ndarray  # int64 kopecks


def _fingerprint(raw: RawTransfers) -> str:
    """A digest of exactly what the figures depend on, in no particular row order.

    Each row's investor, platform, operator, instant, direction and value are
    mixed into one 64-bit word; the words are summed modulo 2**64 (order-free,
    so both readers agree) next to the row count. Same fingerprint: same input,
    same figures. It costs no extra query, unlike a digest over ids.
    """
    return _fingerprint_digest(*_fingerprint_parts(raw))


def _fingerprint_parts(raw: RawTransfers) -> tuple[int, int]:
    """(rows, sum of the row words mod 2**64): partitions' parts add up to the whole input's."""
    total = _fingerprint_sum(
        raw.investor_hash, raw.investor, raw.platform_id, raw.operator_id, raw.occurred_at, raw.is_in, raw.value
    )
    return len(raw.investor), int(total)


def _fingerprint_digest(rows: int, total: int) -> str:
    return hashlib.sha256(f"{rows}:{total % 2**64}".encode()).hexdigest()


@njit(cache=True, inline="always")
def _mix(word, value):
    word = (word ^ np.uint64(value)) * np.uint64(0x9E3779B97F4A7C15)
    return word ^ (word >> np.uint64(31))


@njit(cache=True, nogil=True)
def _fingerprint_sum(investor_hash, investor, platform_id, operator_id, occurred_at, is_in, value):
    # One pass (the numpy form made ten passes over every column: 1 s at 10M rows).
    total = np.uint64(0)
    for i in range(investor.shape[0]):
        word = investor_hash[investor[i]]
        word = _mix(word, platform_id[i])
        word = _mix(word, operator_id[i])
        word = _mix(word, occurred_at[i])
        word = _mix(word, is_in[i])
        word = _mix(word, value[i])
        total += word
    return total


def read_transfers_orm(*, as_of: dt.datetime) -> RawTransfers:
    """Portable reader: one streamed query through the ORM, no per-row model objects."""
    codes: dict[str, int] = {}
    hashes: list[int] = []
    inv, plat, when, is_in, op, val = [], [], [], [], [], []
    rows = (
        CrossBorderTransfer.objects.filter(occurred_at__lte=as_of)
        .values_list("investor_ref", "platform_id", "occurred_at", "direction", "operator_id", "value_byn")
        .iterator(chunk_size=10_000)
    )  # fmt: skip
    for investor_ref, platform_id, occurred_at, direction, operator_id, value_byn in rows:
        code = codes.get(investor_ref)
        if code is None:
            code = codes[investor_ref] = len(codes)
            hashes.append(engine.fnv1a64(investor_ref.encode()))
        inv.append(code)
        plat.append(platform_id)
        when.append(engine.epoch_us(occurred_at))
        is_in.append(direction == Direction.IN)
        op.append(operator_id)
        val.append(int(value_byn.scaleb(2)))  # exact: value_byn has two decimal places
    return RawTransfers(
        investor=np.asarray(inv, dtype=np.int64),
        investor_hash=np.asarray(hashes, dtype=np.uint64),
        platform_id=np.asarray(plat, dtype=np.int64),
        occurred_at=np.asarray(when, dtype=np.int64),
        is_in=np.asarray(is_in, dtype=bool),
        operator_id=np.asarray(op, dtype=np.int64),
        value=np.asarray(val, dtype=np.int64),
    )


# --- PostgreSQL: COPY ... (FORMAT BINARY), decoded by one compiled pass ---------------------------------

# investor_ref first (text), then a timestamp, a numeric and an int8. Every column
# and every expression costs the server per row, and the server's COPY is most of
# the read: so platform, operator and direction travel packed in one int8, the ids
# and update times for the fingerprint come from one aggregate query instead, and
# value_byn goes out as the stored numeric, decoded here (the server's numeric
# arithmetic for `(value_byn * 100)::bigint` was a third of its COPY time).
# Binary timestamps are int8 microseconds.
COPY_SQL = """
COPY (
    SELECT investor_ref, occurred_at, value_byn,
           (platform_id << 32) | (operator_id << 1) | (direction = 'IN')::int
    FROM outflows_crossbordertransfer
    WHERE occurred_at <= {}{}
) TO STDOUT (FORMAT BINARY)
"""
N_INT_FIELDS = 3
F_TIME, F_VALUE, F_PACKED = range(N_INT_FIELDS)


@njit(cache=True, inline="always")
def _log2(size):
    bits = 0
    while (1 << bits) < size:
        bits += 1
    return bits


@njit(cache=True, inline="always")
def _slot(h, shift):
    # Fibonacci hashing: FNV-1a's low bits are weak, its high bits after this multiply are not.
    return np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> shift)


@njit(cache=True, inline="always")
def _prefix(data, start, length, skip):
    # Up to 8 bytes of a string from data[start + skip:], little-endian, zero-padded.
    word = np.int64(0)
    for k in range(skip, min(length, skip + 8)):
        word |= np.int64(data[start + k]) << np.int64(8 * (k - skip))
    return word


@njit(cache=True, inline="always")
def _numeric_kopecks(buf, p):
    """A binary numeric(18,2) as whole kopecks, exactly.

    The wire format: int16 ndigits, weight, sign, dscale, then ndigits base-10000
    digits, the first worth 10000**weight. With two decimals the only fractional
    digit is at weight -1 and is a multiple of 100 (0.57 is the digit 5700).
    """
    ndigits = (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
    weight = (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
    if weight >= 0x8000:
        weight -= 0x10000
    sign = (np.int64(buf[p + 4]) << 8) | np.int64(buf[p + 5])
    kopecks = np.int64(0)
    for i in range(ndigits):
        digit = (np.int64(buf[p + 8 + 2 * i]) << 8) | np.int64(buf[p + 9 + 2 * i])
        power = weight - i
        if power >= 0:
            scale = np.int64(100)
            for _ in range(power):
                scale *= 10000
            kopecks += digit * scale
        elif power == -1:
            kopecks += digit // 100
    return -kopecks if sign == 0x4000 else kopecks


@njit(cache=True)
def _rehash(table, str_hash, str_loc, store, n_codes):
    mask = table.shape[0] - 1
    shift = np.uint64(64 - _log2(table.shape[0]))
    table[:, 1] = -1
    for code in range(n_codes):
        slot = _slot(str_hash[code], shift)
        while table[slot, 1] != -1:
            slot = (slot + 1) & mask
        off, length = str_loc[code, 0], str_loc[code, 1]
        table[slot, 0] = np.int64(str_hash[code])
        table[slot, 1] = (np.int64(code) << 16) | length
        table[slot, 2] = _prefix(store, off, length, 0)
        table[slot, 3] = _prefix(store, off, length, 8)


# Rows decoded per batch. A probe of the investor table is a trip to memory at national
# scale (1.25M investors: a 128 MB table), and one row's probe used to wait for the
# previous one: 0.43 µs a row, most of the read. A batch first parses its rows and
# touches each row's slot (independent loads the CPU overlaps), then codes them from cache.
BATCH = 64
MAX_NAME_BYTES = 256  # varchar(64) in UTF-8


@njit(cache=True, inline="always")
def _int4(buf, p):
    return (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])


@njit(cache=True, nogil=True)
def _decode(buf, pos, end, row, out, inv, table, store, state, str_loc, str_hash):
    """Decode whole rows of buf[pos:end] into out[:, row:] and inv[row:].

    table: open addressing, slot = [hash, code << 16 | length, bytes 0-7,
    bytes 8-15]: a probe for a name of up to 16 bytes touches one cache line;
    longer names are compared with the rest of their bytes in store.
    str_loc[code] = [offset, length] in store. state = [n_codes, store_used,
    touched]. Returns (pos, row, status): status 0 = need more input, 1 = end
    of data, 2 = out of room (rows, codes or string store) for the next batch.
    """
    mask = table.shape[0] - 1
    shift = np.uint64(64 - _log2(table.shape[0]))
    cap = out.shape[1]
    name_at = np.empty(BATCH, np.int64)
    name_len = np.empty(BATCH, np.int64)
    name_hash = np.empty(BATCH, np.uint64)
    while True:
        n_codes = state[0]
        # No room is needed for the trailer (-1 fields): a stream of exactly `cap` rows must not grow.
        at_trailer = end - pos >= 2 and buf[pos] == 0xFF and buf[pos + 1] == 0xFF
        if not at_trailer and (
            row >= cap
            or n_codes + BATCH > str_hash.shape[0]
            or state[1] + BATCH * MAX_NAME_BYTES > store.shape[0]
            or 2 * (n_codes + BATCH + 1) > table.shape[0]
        ):
            if row >= cap and end - pos < 2:
                return pos, row, 0  # the next bytes tell whether a row or the trailer comes
            return pos, row, 2
        # Pass 1: parse up to BATCH whole rows, decode their numbers, hash their names.
        status = -1
        batch = 0
        touched = np.int64(0)
        while batch < BATCH and row + batch < cap:
            if end - pos < 2:
                status = 0
                break
            n_fields = (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])
            if n_fields == 0xFFFF:  # -1: trailer
                pos += 2
                status = 1
                break
            # Check that the whole row is here before decoding anything of it.
            p = pos + 2
            complete = True
            for _ in range(n_fields):
                if end - p < 4:
                    complete = False
                    break
                p += 4 + _int4(buf, p)
                if p > end:
                    complete = False
                    break
            if not complete:
                status = 0
                break
            p = pos + 2
            length = _int4(buf, p)
            p += 4
            h = np.uint64(0xCBF29CE484222325)
            for k in range(length):
                h = (h ^ np.uint64(buf[p + k])) * np.uint64(0x100000001B3)
            name_at[batch] = p
            name_len[batch] = length
            name_hash[batch] = h
            p += length
            r = row + batch
            for f in range(n_fields - 1):
                length = _int4(buf, p)
                p += 4
                if f == F_VALUE:
                    out[f, r] = _numeric_kopecks(buf, p)
                else:
                    v = np.int64(0)
                    for k in range(length):
                        v = (v << 8) | np.int64(buf[p + k])
                    if length < 8 and length > 0 and (buf[p] & 0x80):
                        v -= np.int64(1) << (8 * length)
                    out[f, r] = v
                p += length
            pos = p
            batch += 1
        # A tight loop of independent loads: the CPU keeps many in flight (inside the parsing
        # loop above, one row's work filled its window and the loads went one at a time).
        for b in range(batch):
            touched += table[_slot(name_hash[b], shift), 1]
        state[2] += touched  # keeps the touching loads from being optimised away
        # Pass 2: exact dense code of each name (the bytes are compared, not only the hashes).
        for b in range(batch):
            p, length, h = name_at[b], name_len[b], name_hash[b]
            hs = np.int64(h)
            p0 = _prefix(buf, p, length, 0)
            p1 = _prefix(buf, p, length, 8)
            slot = _slot(h, shift)
            code = -1
            while table[slot, 1] != -1:
                entry = table[slot, 1]
                same_slot = table[slot, 0] == hs and (entry & 0xFFFF) == length
                if same_slot and table[slot, 2] == p0 and table[slot, 3] == p1:
                    c = entry >> 16
                    same = True
                    if length > 16:  # the first 16 bytes were compared in the slot (and str_loc is a miss)
                        off = str_loc[c, 0]
                        for k in range(16, length):
                            if store[off + k] != buf[p + k]:
                                same = False
                                break
                    if same:
                        code = c
                        break
                slot = (slot + 1) & mask
            if code == -1:
                code = state[0]
                used = state[1]
                for k in range(length):
                    store[used + k] = buf[p + k]
                str_loc[code, 0] = used
                str_loc[code, 1] = length
                str_hash[code] = h
                table[slot, 0] = hs
                table[slot, 1] = (np.int64(code) << 16) | length
                table[slot, 2] = p0
                table[slot, 3] = p1
                state[0] = code + 1
                state[1] = used + length
            inv[row + b] = code
        row += batch
        if status >= 0:
            return pos, row, status


class _Decoder:
    """Holds the growing buffers of one COPY stream."""

    def __init__(self, expected_rows: int) -> None:
        # A quarter more than expected (the planner's estimate may lag): pages never written
        # cost nothing, and growing copies every buffer into fresh memory (1-2 s at 10M).
        cap = max(1024, expected_rows + expected_rows // 4)
        self.out = np.empty((N_INT_FIELDS, cap), np.int64)
        self.inv = np.empty(cap, np.int64)
        # Sized for the investors seen so far, not the rows: a small table stays in cache.
        self.table = np.full((1 << 16, 4), -1, np.int64)
        self.store = np.empty(1 << 20, np.uint8)
        self.state = np.zeros(3, np.int64)
        self.str_loc = np.empty((1 << 15, 2), np.int64)
        self.str_hash = np.empty(1 << 15, np.uint64)
        self.row = 0

    def grow(self) -> None:
        """Make room for the next batch (the predicates of `_decode`'s status 2)."""
        n_codes, used = int(self.state[0]), int(self.state[1])
        if self.row >= self.out.shape[1]:
            self.out = np.concatenate([self.out, np.empty_like(self.out)], axis=1)
            self.inv = np.concatenate([self.inv, np.empty_like(self.inv)])
        if n_codes + BATCH > self.str_hash.shape[0]:
            self.str_loc = np.concatenate([self.str_loc, np.empty_like(self.str_loc)])
            self.str_hash = np.concatenate([self.str_hash, np.empty_like(self.str_hash)])
        if used + BATCH * MAX_NAME_BYTES > self.store.shape[0]:
            self.store = np.concatenate([self.store, np.empty_like(self.store)])
        if 2 * (n_codes + BATCH + 1) > self.table.shape[0]:
            self.table = np.empty((self.table.shape[0] * 4, 4), np.int64)
            _rehash(self.table, self.str_hash, self.str_loc, self.store, n_codes)

    def raw(self) -> RawTransfers:
        """The decoded rows, the packed column unpacked (in place: the decoder is spent)."""
        n = self.row
        operator_id, is_in = _unpack_in_place(self.out[F_TIME, :n], self.out[F_PACKED, :n])
        return RawTransfers(
            investor=self.inv[:n],
            investor_hash=self.str_hash[: int(self.state[0])].copy(),
            platform_id=self.out[F_PACKED, :n],
            occurred_at=self.out[F_TIME, :n],
            is_in=is_in,
            operator_id=operator_id,
            value=self.out[F_VALUE, :n],
        )


@njit(cache=True, nogil=True)
def _unpack_in_place(time, packed):
    # One pass, the times and platforms rewritten where they lie: numpy's form made six
    # fresh 80 MB arrays at 10M rows, and first-touched memory is slow to fault in.
    operator_id = np.empty(packed.shape[0], np.int64)
    is_in = np.empty(packed.shape[0], np.bool_)
    for i in range(packed.shape[0]):
        p = packed[i]
        is_in[i] = (p & 1) == 1
        operator_id[i] = (p & 0xFFFFFFFF) >> 1
        packed[i] = p >> 32
        time[i] += PG_EPOCH_US
    return operator_id, is_in


def _estimated_rows() -> int:
    """The planner's row estimate of the transfer table (free): sizes the decoder's first buffers."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'outflows_crossbordertransfer'")
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def _partition_filter(partition: tuple[int, int] | None) -> psycopg_sql.Composable:
    """Rows of partition p of n: a hash of the pair (investor_ref, platform), so a pair never spans two."""
    if partition is None:
        return psycopg_sql.SQL("")
    p, n = partition
    return psycopg_sql.SQL(" AND abs(hashtextextended(investor_ref, platform_id) % {}) = {}").format(
        psycopg_sql.Literal(n), psycopg_sql.Literal(p)
    )


def read_transfers_copy(
    *, as_of: dt.datetime, expected_rows: int = 0, partition: tuple[int, int] | None = None
) -> RawTransfers:
    """PostgreSQL reader: COPY streams pulled and decoded by compiled code, 1 MB buffer each.

    Run it inside a REPEATABLE READ transaction (the service does). At national
    scale the server's COPY is the slowest part, and it is single-threaded: when
    this transaction may share its snapshot (see `_may_split`), the table is
    read as two block ranges by two server processes, one on each core, both
    consumed here into one decoder (the investor codes stay one dense set).
    Memory is the decoded arrays, never the stream. partition=(p, n) reads only
    the pairs of partition p of n (see `_partition_filter`).
    """
    functions = _copy_functions()
    if functions is None:
        raise RuntimeError("the COPY reader needs the libpq psycopg uses (Linux); use reader='orm'")
    connection.ensure_connection()
    decoder = _Decoder(expected_rows)
    with contextlib.ExitStack() as stack:
        sources = [connection.connection]
        split_at = ""
        if expected_rows >= SPLIT_MIN_ROWS and _may_split():
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
            query = psycopg_sql.SQL(COPY_SQL).format(psycopg_sql.Literal(as_of), where).as_bytes(pg)
            streams.append(_CopyStream(pg.pgconn, query))
            stack.callback(streams[-1].finish)
        active = list(streams)
        while active:
            for stream in list(active):
                decoder.row, stream.status = _pull(
                    functions, stream.pgconn.pgconn_ptr, stream.slot, stream.buf, stream.at, decoder.row,
                    decoder.out, decoder.inv, decoder.table, decoder.store, decoder.state,
                    decoder.str_loc, decoder.str_hash,
                )  # fmt: skip
                if stream.status == PULL_ROOM:
                    decoder.grow()
                elif stream.status != PULL_MORE:
                    active.remove(stream)
        for stream in streams:
            stream.finish()
            stream.check()
    return decoder.raw()


def warm_up() -> None:
    """Load every compiled function of a run from numba's disk cache (or compile it), without a database.

    The engine's sort and sweep, the reader's decode on a one-row stream, its
    pull on no connection (libpq answers -2 at once) and the fingerprint.
    """
    engine.warm_up()
    decoder = _Decoder(2)
    # One row of a binary COPY stream with one field, the name "inv", then the trailer.
    one_row = np.frombuffer(b"\x00\x01\x00\x00\x00\x03inv\xff\xff", np.uint8).copy()
    decoder.row = _decode(one_row, 0, len(one_row), 0, decoder.out, decoder.inv, decoder.table, decoder.store,
                          decoder.state, decoder.str_loc, decoder.str_hash)[1]  # fmt: skip
    functions = _copy_functions()
    if functions is not None:
        _pull(functions, 0, np.zeros(1, np.int64), np.empty(1 << 17, np.uint8), np.zeros(4, np.int64), 0,
              decoder.out, decoder.inv, decoder.table, decoder.store, decoder.state, decoder.str_loc,
              decoder.str_hash)  # fmt: skip
    decoder.out[:, : decoder.row] = 0  # the one-column row set no numbers
    _fingerprint(decoder.raw())


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
# server's; called from compiled code the pull costs 0.17 s per million rows, and
# the rows are decoded every DECODE_BYTES while the server produces the next ones.
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
def _pull(functions, conn, slot, buf, at, row, out, inv, table, store, state, str_loc, str_hash):
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
            pos, row, decoded = _decode(buf, pos, fill, row, out, inv, table, store, state, str_loc, str_hash)
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


def _ids_fit_packing() -> bool:
    # COPY_SQL packs platform and operator ids into 31 bits each; bigger ids (never seen
    # in a registry of thousands) take the portable reader rather than a wrong figure.
    limit = 1 << 31
    return (Operator.objects.aggregate(m=Max("id"))["m"] or 0) < limit and (
        ForeignPlatform.objects.aggregate(m=Max("id"))["m"] or 0
    ) < limit


def copy_reader_available() -> bool:
    """The COPY reader works here: PostgreSQL, the libpq functions found, ids that fit its packing."""
    return connection.vendor == "postgresql" and _copy_functions() is not None and _ids_fit_packing()


def read_transfers(*, as_of: dt.datetime, reader: str | None = None, expected_rows: int = 0) -> RawTransfers:
    """Read with the named reader ("copy" or "orm"); by default COPY on PostgreSQL, else the ORM."""
    if reader is None:
        reader = "copy" if copy_reader_available() else "orm"
    if reader == "copy":
        return read_transfers_copy(as_of=as_of, expected_rows=expected_rows)
    if reader == "orm":
        return read_transfers_orm(as_of=as_of)
    raise ValueError(f"unknown reader {reader!r}")


# --- The run ------------------------------------------------------------------------------------------

LOCK_KEY = "outflows:compute-lock"
# Longer than the longest run we expect (10M transfers take seconds); a crashed
# process cannot block the nightly run for more than this.
LOCK_TIMEOUT_S = 30 * 60


class OutflowRunBusy(Exception):
    """Another outflow run holds the lock: two runs never compute at once."""


def _kopecks_to_byn(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


def _share(outbound: int, returned: int) -> Decimal | None:
    """(outbound - returned) / outbound to 6 places, or None when nothing matured."""
    if outbound == 0:
        return None
    return (Decimal(outbound - returned) / Decimal(outbound)).quantize(Decimal("0.000001"))


def _positions(registry_ids: list[int], ids: np.ndarray) -> np.ndarray:
    """The position in registry_ids of each of ids; RuntimeError for an id the run did not read."""
    lut = np.full(max(max(registry_ids, default=0), int(ids.max(initial=0))) + 1, -1, np.int64)
    lut[np.asarray(registry_ids, dtype=np.int64)] = np.arange(len(registry_ids), dtype=np.int64)
    positions = lut[ids]
    if positions.min(initial=0) < 0:
        raise RuntimeError("a transfer names an operator or platform that the run did not read")
    return positions


@dataclass
class Registry:
    """The operators (by UNP: the tie-break of section 5) and platforms (by slug) a run reads by.

    Plain lists, so that a fan-out plan carries them to its partition tasks as JSON.
    """

    operators: list  # [unp, id]
    platforms: list  # [slug, id, country]

    @classmethod
    def read(cls) -> Registry:
        return cls(
            operators=[list(row) for row in sorted(Operator.objects.values_list("unp", "id"))],
            platforms=[list(row) for row in sorted(ForeignPlatform.objects.values_list("slug", "id", "country"))],
        )


def _compute_cells(
    raw: RawTransfers, registry: Registry, *, as_of: dt.datetime, window_days: int, partitions: int = 1
) -> tuple[dict[tuple[str, str, str], np.ndarray], int]:
    """The stat cells and the excess return of the transfers read.

    partitions > 1 splits the pairs by a stable hash of (investor_ref, platform)
    and sums the partial results: pairs never cross partitions and the sums are
    integers, so the figures are those of one partition exactly.
    """
    arrays = engine.TransferArrays(
        investor=raw.investor,
        platform=_positions([pk for _, pk, _ in registry.platforms], raw.platform_id),
        occurred_at=raw.occurred_at,
        is_in=raw.is_in,
        operator=_positions([pk for _, pk in registry.operators], raw.operator_id),
        value=raw.value,
    )
    cohorts = engine.cohort_axis(arrays.occurred_at)  # one axis for every partition
    compute_kwargs = {
        "as_of_us": engine.epoch_us(as_of),
        "window_days": window_days,
        "n_operators": len(registry.operators),
        "n_platforms": len(registry.platforms),
        "per_row": False,
    }
    if partitions <= 1:
        result = engine.compute(arrays, cohorts=cohorts, **compute_kwargs)
    else:
        part = engine.partition_of(raw.investor_hash[raw.investor], raw.platform_id, partitions)
        result = None
        for p in range(partitions):
            index = np.flatnonzero(part == p)
            partial = engine.compute(arrays.take(index), cohorts=cohorts, **compute_kwargs)
            result = partial if result is None else result.merge(partial)
    cells = engine.aggregate(
        result,
        operator_keys=[unp for unp, _ in registry.operators],
        platform_keys=[slug for slug, _, _ in registry.platforms],
        platform_countries=[country for _, _, country in registry.platforms],
    )
    return cells, result.excess_return


@dataclass
class OutflowComputation:
    """What a computation produced, before it is stored."""

    cells: dict[tuple[str, str, str], np.ndarray]
    excess_return: int
    input_rows: int
    fingerprint: str
    timings: dict[str, float]


def outflow_compute(
    *, as_of: dt.datetime, window_days: int = 365, partitions: int = 1, reader: str | None = None
) -> OutflowComputation:
    """Compute DESIGN section 5 over every transfer with occurred_at <= as_of, in this process.

    Reads only; stores nothing. partitions > 1 computes the partitions one
    after another (see `_compute_cells`); the Celery task fans them out instead.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    raw = read_transfers(as_of=as_of, reader=reader, expected_rows=_estimated_rows())
    fingerprint = _fingerprint(raw)
    timings["read_s"] = round(time.perf_counter() - started, 3)
    mark = time.perf_counter()
    cells, excess = _compute_cells(raw, Registry.read(), as_of=as_of, window_days=window_days, partitions=partitions)
    timings["compute_s"] = round(time.perf_counter() - mark, 3)
    return OutflowComputation(
        cells=cells, excess_return=excess, input_rows=len(raw.investor), fingerprint=fingerprint, timings=timings
    )


# The stored columns of a stat row: its figures, then the return curve's.
STAT_COLUMNS = (*STAT_FIELDS, *(f"returned_{days}d_byn" for days in engine.CURVE_DAYS))


def _stat_values(cells: dict[tuple[str, str, str], np.ndarray]) -> list[tuple]:
    """One tuple of STAT_COLUMNS per stat row, in (dimension, key, cohort) order."""
    rows = []
    for (dimension, key, cohort), m in sorted(cells.items()):
        outbound, returned = int(m[engine.M_OUTBOUND]), int(m[engine.M_RETURNED])
        rows.append(
            (
                dimension,
                key,
                cohort,
                _kopecks_to_byn(outbound),
                _kopecks_to_byn(returned),
                _kopecks_to_byn(outbound - returned),
                _share(outbound, returned),
                _kopecks_to_byn(m[engine.M_PENDING_OUTBOUND]),
                _kopecks_to_byn(m[engine.M_PENDING_RETURNED]),
                int(m[engine.M_COUNT]),
                *(_kopecks_to_byn(m[engine.M_CURVE + k]) for k in range(len(engine.CURVE_DAYS))),
            )
        )
    return rows


def _stats_store(run: OutflowRun, cells: dict[tuple[str, str, str], np.ndarray]) -> None:
    """Write the run's OutflowStat rows: COPY on PostgreSQL (model instances and the ORM's
    per-field preparation were 0.25 s for 2,400 rows, a fifth of a 1M-row run), else bulk_create."""
    rows = _stat_values(cells)
    if connection.vendor != "postgresql":
        OutflowStat.objects.bulk_create(
            [OutflowStat(run=run, **dict(zip(STAT_COLUMNS, row, strict=True))) for row in rows], batch_size=5_000
        )
        return
    fields = [OutflowStat._meta.get_field(name) for name in ("run", *STAT_COLUMNS)]
    copy_sql = psycopg_sql.SQL("COPY {} ({}) FROM STDIN").format(
        psycopg_sql.Identifier(OutflowStat._meta.db_table),
        psycopg_sql.SQL(", ").join(psycopg_sql.Identifier(field.column) for field in fields),
    )
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row((run.pk, *row))


def _lock_take() -> str:
    """Take the run lock (never two runs at once): its token, or OutflowRunBusy."""
    token = uuid.uuid4().hex
    if not cache.add(LOCK_KEY, token, timeout=LOCK_TIMEOUT_S):
        raise OutflowRunBusy("another outflow run is computing")
    return token


def _lock_release(token: str) -> None:
    if cache.get(LOCK_KEY) == token:
        cache.delete(LOCK_KEY)


def _lock_renew(token: str) -> None:
    """Keep the lock of a run computing in this process for one more lease: renewed by the
    run's heartbeat, it lapses a minute after its process died instead of half an hour."""
    if cache.get(LOCK_KEY) == token:
        cache.touch(LOCK_KEY, settings.WORK_LEASE_SECONDS)


def _run_start(run: OutflowRun | None, *, as_of, window_days: int, partitions: int, requested_by) -> OutflowRun:
    """The run, created or taken from the queue, marked running; a finished run is returned as it is."""
    if run is None:
        run = OutflowRun.objects.create(
            as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by
        )
    if run.status == RunStatus.FINISHED:
        return run  # idempotent: a finished run is never recomputed or changed
    run.as_of, run.window_days, run.partitions = as_of, window_days, partitions
    run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
    run.save(update_fields=["as_of", "window_days", "partitions", "status", "started_at", "error", "updated_at"])
    return run


def _run_finish(
    run: OutflowRun, *, cells: dict, excess_return: int, input_rows: int, fingerprint: str, timings: dict
) -> None:
    """Store the stats and mark the run finished, in one transaction: from here on it never changes."""
    mark = time.perf_counter()
    with transaction.atomic():
        _stats_store(run, cells)
        run.input_rows = input_rows
        run.input_fingerprint = fingerprint
        run.excess_return_byn = _kopecks_to_byn(excess_return)
        run.status = RunStatus.FINISHED
        run.finished_at = timezone.now()
        run.timings = {
            **timings,
            "store_s": round(time.perf_counter() - mark, 3),
            "total_s": round((run.finished_at - run.started_at).total_seconds(), 3),
        }
        run.save()
    logger.info("outflow run %s finished: %s rows, %s", run.pk, run.input_rows, run.timings)


def _run_fail(run_id: int, error: str) -> None:
    OutflowRun.objects.filter(pk=run_id).exclude(status=RunStatus.FINISHED).update(
        status=RunStatus.FAILED, error=error, finished_at=timezone.now()
    )


def outflow_run_compute(
    *,
    as_of: dt.datetime | None = None,
    window_days: int = 365,
    partitions: int = 1,
    requested_by=None,
    run: OutflowRun | None = None,
    reader: str | None = None,
) -> OutflowRun:
    """One run of DESIGN section 5 in this process: an OutflowRun with its OutflowStat rows.

    Promises: never two runs at once (a cache lock; OutflowRunBusy when held);
    the run's figures, input row count and fingerprint come from one snapshot
    of the transfers (REPEATABLE READ on PostgreSQL); the stats and the
    "finished" status are written in one transaction, and a finished run is
    never changed again. A queued run may be passed in (the Celery task does);
    a run that failed keeps its error text and status "failed".
    Outbound counts and values in the stats are those of matured outbounds;
    pending ones are reported apart (pending_* fields).
    """
    if as_of is None:
        as_of = timezone.now()
    _check_parameters(as_of, window_days, partitions)
    token = _lock_take()
    try:
        run = _run_start(run, as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by)
        if run.status == RunStatus.FINISHED:
            return run
        # Its work lease, renewed with the lock, lets the sweeper re-send the run if this process dies.
        with leases.lease_held(kind=leases.OUTFLOW_RUN, object_id=run.pk, also=lambda: _lock_renew(token)) as lease:
            if lease is None:
                raise OutflowRunBusy(f"outflow run {run.pk} is computing in another process")
            if lease.attempts > settings.WORK_MAX_ATTEMPTS:
                _run_fail(run.pk, f"given up: its worker died {lease.attempts - 1} times")
                return run
            _run_compute(run, reader=reader)
        return run
    finally:
        _lock_release(token)


def _run_compute(run: OutflowRun, *, reader: str | None) -> None:
    """Compute a started run and store it; a failure marks it failed (with the error) and is raised."""
    try:
        with _read_snapshot():
            result = outflow_compute(
                as_of=run.as_of, window_days=run.window_days, partitions=run.partitions, reader=reader
            )
        _run_finish(
            run,
            cells=result.cells,
            excess_return=result.excess_return,
            input_rows=result.input_rows,
            fingerprint=result.fingerprint,
            timings=result.timings,
        )
    except Exception as exc:
        logger.exception("outflow run %s failed", run.pk)
        _run_fail(run.pk, f"{type(exc).__name__}: {exc}")
        raise


def outflow_runs_stuck() -> list[int]:
    """Runs nobody is computing, to re-send (marked re-sent): queued ones whose message was lost,
    and running ones computed in-process whose worker died (their lease lapsed; operators.leases).

    A fanned-out run holds no lease (its partitions run anywhere): outflow_runs_fail_lost handles it.
    """
    leased = WorkLease.objects.filter(kind=leases.OUTFLOW_RUN, object_id=OuterRef("pk"))
    pending = OutflowRun.objects.filter(Q(status=RunStatus.QUEUED) | Q(Exists(leased), status=RunStatus.RUNNING))
    return leases.leases_lapsed(kind=leases.OUTFLOW_RUN, pending=pending, sent_field="created_at")


def _check_parameters(as_of: dt.datetime, window_days: int, partitions: int) -> None:
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be an aware datetime")
    if window_days < 1 or partitions < 1:
        raise ValueError("window_days and partitions must be positive")


# --- Fan-out: one run as a Celery chord of partitions ------------------------------------------------
#
# The pairs are split by a hash computed in PostgreSQL (`_partition_filter`), so each
# partition task reads only its share of the table, on whichever worker takes it, and
# the cells of the partitions add up exactly (integer sums over disjoint pairs). The
# tasks run in transactions of their own, so they cannot share one snapshot; instead
# every task counts the TransferChange rows in its snapshot and the merge accepts the
# partitions only if all saw the count of the plan: then all read the same transfers.
# Otherwise the run is planned again (a filing was accepted meanwhile), at most
# FAN_OUT_ATTEMPTS times. The lock is held from the plan to the merge (or the failure).

FAN_OUT_ATTEMPTS = 3


def _transfer_version() -> int:
    return TransferChange.objects.count()


def _plan_snapshot() -> dict:
    """The version of the transfers and the registry, read in one snapshot."""
    with _read_snapshot():
        version = _transfer_version()
        registry = Registry.read()
    return {"version": version, "operators": registry.operators, "platforms": registry.platforms}


def outflow_fan_out_begin(
    *, as_of: dt.datetime, window_days: int, partitions: int, run: OutflowRun | None = None, requested_by=None
) -> dict | None:
    """Take the lock and start the run; the plan every partition task reads by (None: already finished).

    OutflowRunBusy when another run holds the lock. The plan is plain JSON (it travels in task messages).
    """
    _check_parameters(as_of, window_days, partitions)
    token = _lock_take()
    try:
        run = _run_start(run, as_of=as_of, window_days=window_days, partitions=partitions, requested_by=requested_by)
        if run.status == RunStatus.FINISHED:
            _lock_release(token)
            return None
        return {
            "run": run.pk,
            "token": token,
            "as_of": as_of.isoformat(),
            "window_days": window_days,
            "partitions": partitions,
            "attempt": 1,
            **_plan_snapshot(),
        }
    except Exception:
        _lock_release(token)
        raise


def outflow_partition_compute(plan: dict, partition: int) -> dict:
    """Read and compute partition `partition` of the plan: its cells and fingerprint part, as JSON."""
    started = time.perf_counter()
    as_of = dt.datetime.fromisoformat(plan["as_of"])
    n = plan["partitions"]
    with _read_snapshot():
        if _transfer_version() != plan["version"]:
            return {"partition": partition, "stale": True}
        raw = read_transfers_copy(as_of=as_of, expected_rows=_estimated_rows() // n, partition=(partition, n))
        rows, total = _fingerprint_parts(raw)
    read_s = time.perf_counter() - started
    registry = Registry(operators=plan["operators"], platforms=plan["platforms"])
    cells, excess = _compute_cells(raw, registry, as_of=as_of, window_days=plan["window_days"])
    return {
        "partition": partition,
        "stale": False,
        "rows": rows,
        "fingerprint_sum": total,
        "excess_return": excess,
        "cells": [[*key, [int(v) for v in metrics]] for key, metrics in cells.items()],
        "read_s": round(read_s, 3),
        "compute_s": round(time.perf_counter() - started - read_s, 3),
    }


def outflow_fan_out_finish(plan: dict, partials: list[dict]) -> OutflowRun | None:
    """Merge the partitions into the run and release the lock; None if a partition saw other transfers.

    The caller then plans again (`outflow_fan_out_replan`).
    """
    if sorted(p["partition"] for p in partials) != list(range(plan["partitions"])):
        raise RuntimeError("the merge did not receive every partition exactly once")
    if any(p["stale"] for p in partials):
        return None
    run = OutflowRun.objects.get(pk=plan["run"])
    try:
        cells: dict[tuple[str, str, str], np.ndarray] = {}
        for partial in partials:
            for dimension, key, cohort, metrics in partial["cells"]:
                values = np.asarray(metrics, dtype=np.int64)
                cell = (dimension, key, cohort)
                cells[cell] = cells[cell] + values if cell in cells else values
        rows = sum(p["rows"] for p in partials)
        _run_finish(
            run,
            cells=cells,
            excess_return=sum(p["excess_return"] for p in partials),
            input_rows=rows,
            fingerprint=_fingerprint_digest(rows, sum(p["fingerprint_sum"] for p in partials)),
            timings={
                "partitions": plan["partitions"],
                "attempts": plan["attempt"],
                "read_s": max(p["read_s"] for p in partials),  # the slowest partition's
                "compute_s": max(p["compute_s"] for p in partials),
            },
        )
    except Exception as exc:
        logger.exception("outflow run %s failed in its merge", run.pk)
        outflow_fan_out_fail(plan, f"{type(exc).__name__}: {exc}")
        raise
    _lock_release(plan["token"])
    return run


def outflow_fan_out_replan(plan: dict) -> dict | None:
    """A new plan for a run whose partitions saw different transfers; None (run failed) after the last attempt."""
    if plan["attempt"] >= FAN_OUT_ATTEMPTS:
        outflow_fan_out_fail(plan, f"the transfers changed during each of {FAN_OUT_ATTEMPTS} attempts")
        return None
    return {**plan, "attempt": plan["attempt"] + 1, **_plan_snapshot()}


def outflow_fan_out_fail(plan: dict, error: str) -> None:
    """Mark the run failed (keeping the error) and release the lock."""
    logger.error("outflow run %s failed: %s", plan["run"], error)
    _run_fail(plan["run"], error)
    _lock_release(plan["token"])


def outflow_runs_fail_lost() -> int:
    """Mark failed the runs still "running" after the lock's lifetime with no lock held: their computation is lost.

    An in-process run is re-delivered when its worker dies and finishes then; a
    fanned-out run whose chord can no longer complete (its messages lost with a
    Redis that kept no journal) would otherwise stay "running" for ever.
    """
    if cache.get(LOCK_KEY) is not None:
        return 0  # a run is computing: it may be the old one
    cutoff = timezone.now() - dt.timedelta(seconds=LOCK_TIMEOUT_S)
    return OutflowRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff).update(
        status=RunStatus.FAILED,
        error=f"lost: not finished {LOCK_TIMEOUT_S // 60} minutes after its start; request a new run",
        finished_at=timezone.now(),
    )


@contextlib.contextmanager
def _read_snapshot():
    """A transaction whose reads all see one snapshot of the transfers (REPEATABLE READ on PostgreSQL).

    Inside an outer transaction (a caller's, the tests') the reads are that transaction's.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            _snapshot_isolation()
        yield


def _snapshot_isolation() -> None:
    """REPEATABLE READ for the read: the count, the COPY and the fingerprint see one snapshot.

    Only possible as the first statement of a transaction; inside an outer
    transaction (tests) the reads are already one transaction's.
    """
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers; a read transaction already sees one snapshot
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def outflow_run_request(
    *, as_of: dt.datetime | None = None, window_days: int = 365, partitions: int = 1, requested_by=None
) -> OutflowRun:
    """Queue a run (auditors and supervisors, from the UI or API): the Celery task computes it.

    Returns the queued OutflowRun at once; the task is sent when the caller's transaction commits.
    If Redis is down then, the run stays queued and the sweeper sends it once Redis is back.
    """
    run = OutflowRun.objects.create(
        as_of=as_of or timezone.now(), window_days=window_days, partitions=partitions, requested_by=requested_by
    )
    transaction.on_commit(lambda: _run_send(run.pk))
    return run


def _run_send(run_id: int) -> None:
    from outflows.tasks import compute_outflows_task  # tasks import this module

    try:
        compute_outflows_task.delay(run_id=run_id)
    except REDIS_ERRORS:
        logger.exception("outflow run %s: not sent to the worker (broker unavailable); the sweeper will", run_id)
