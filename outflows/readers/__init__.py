"""The one seam between the outflow runs and the transfer table: `read_transfers`.

Every reader returns the same RawTransfers for the same rows (tested):

* "copy": hand-written PostgreSQL binary COPY client (outflows/readers/pgcopy.py),
  the default where it works (PostgreSQL, the libpq psycopg loaded, ids that
  fit its packing); anywhere else the "orm" reader is used instead;
* "orm": the portable reader through the ORM (outflows/readers/orm.py);
* "adbc": the same query as "copy" through ADBC into Arrow
  (outflows/readers/arrow.py), where adbc-driver-postgresql and pyarrow are
  installed; inside a caller's transaction, which its own connections cannot
  see, the "orm" reader is used instead.

settings.OUTFLOW_READER names the reader of a run ("copy" by default; "orm" or
"adbc" turn the hand-written client off). Partitions (the fan-out) are read
by "copy" or "adbc" only: `partitions_supported()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.db import connection

from outflows import engine
from outflows.readers import arrow, orm, pgcopy
from outflows.readers.raw import RawTransfers, fingerprint, fingerprint_digest, fingerprint_parts

__all__ = [
    "READERS",
    "RawTransfers",
    "copy_reader_available",
    "estimated_rows",
    "fingerprint",
    "fingerprint_digest",
    "fingerprint_parts",
    "partitions_supported",
    "read_transfers",
    "reader_for_run",
    "warm_up",
]

READERS = ("copy", "orm", "adbc")
read_transfers_copy = pgcopy.read_transfers_copy
read_transfers_orm = orm.read_transfers_orm
read_transfers_adbc = arrow.read_transfers_adbc
copy_reader_available = pgcopy.copy_reader_available


def reader_for_run(reader: str | None = None) -> str:
    """The reader named (as it is), else settings.OUTFLOW_READER where it can work here, else "orm"."""
    name = reader or settings.OUTFLOW_READER
    if name not in READERS:
        raise ValueError(f"unknown reader {name!r} (one of {', '.join(READERS)})")
    if reader is not None:
        return name
    if name == "copy" and not pgcopy.copy_reader_available():
        return "orm"
    if name == "adbc" and not (arrow.available() and pgcopy.ids_fit_packing() and arrow.can_read_here()):
        return "orm"
    return name


def partitions_supported(reader: str | None = None) -> bool:
    """A run may fan out: its reader can select one partition of the investors in PostgreSQL."""
    return reader_for_run(reader) in ("copy", "adbc")


def read_transfers(
    *,
    as_of: dt.datetime,
    reader: str | None = None,
    expected_rows: int = 0,
    partition: tuple[int, int] | None = None,
    filings: Sequence[int] | None = None,
) -> RawTransfers:
    """Every transfer with occurred_at <= as_of (only partition p of n when `partition`=(p, n)).

    filings: instead of the live transfers, the rows of exactly these filings, live or archived
    when a resubmission superseded them (a past run re-derived: outflows.rederive).
    """
    name = reader_for_run(reader)
    if name == "copy":
        return pgcopy.read_transfers_copy(
            as_of=as_of, expected_rows=expected_rows, partition=partition, filings=filings
        )
    if name == "adbc":
        return arrow.read_transfers_adbc(as_of=as_of, expected_rows=expected_rows, partition=partition, filings=filings)
    if partition is not None:
        raise ValueError("the ORM reader reads no partitions; fan out with the COPY or ADBC reader")
    return orm.read_transfers_orm(as_of=as_of, filings=filings)


def estimated_rows() -> int:
    """The planner's row estimate of the transfer table (free): sizes the decoder's first buffers."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'outflows_crossbordertransfer'")
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def warm_up() -> None:
    """Load every compiled function of a run from numba's disk cache (or compile it), without a database:
    the engine's sort and sweep, the COPY reader's decode and pull, and the fingerprint."""
    engine.warm_up()
    fingerprint(pgcopy.warm_up())
