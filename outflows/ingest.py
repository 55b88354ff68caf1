"""Bulk load of a transfer register into CrossBorderTransfer (DESIGN section 3; issue 3).

One streaming pass reads, validates and loads: validated rows go straight into a
PostgreSQL ``COPY`` while Python checks the next ones, so the server's index
work and our validation run on both cores at once, and memory stays bounded
whatever the file's size (10M rows work). The caller holds the transaction;
any error rolls everything back (all or nothing).

Two modes on PostgreSQL:

* *direct* (the usual case): COPY into the real table. It gives up at the first
  bad row or at a unique violation (a duplicate ``external_id`` in the file, or
  one already on record) and the whole load is redone in
* *stage*: COPY every valid row, with its row number, into a temporary table;
  then find in SQL, set-wise, the in-file duplicates and the conflicts with rows
  already on record; if there is nothing wrong, ``INSERT ... SELECT`` the rows
  not already on record. Slower, but only bad files and re-uploads pay for it,
  and it lists every error at once.

SQLite (the embedded default, demo scale) takes a batched insert instead.
"""

import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from filings.hooks import ImportFigures
from filings.validate import TransferChecker
from operators.models import ForeignPlatform, RegistrationFiling
from operators.tabular.errors import ErrorList
from operators.tabular.reader import FIRST_DATA_ROW, FileRejected, numbered

TABLE = "outflows_crossbordertransfer"
# updated_at is left to its database default (the transaction's time, as one import is one change).
COLUMNS = (
    "operator_id, filing_id, external_id, occurred_at, direction, investor_ref, platform_id, asset, amount, value_byn"
)
_FLUSH_ROWS = 20_000


@dataclass
class IngestResult(ImportFigures):
    platforms_created: list[str] = field(default_factory=list)


class _Fallback(Exception):
    pass


class _Platforms:
    """slug -> id; unknown platforms are created unverified (DESIGN section 2)."""

    def __init__(self, result: IngestResult):
        self.ids = dict(ForeignPlatform.objects.values_list("slug", "id"))
        self.result = result

    def create(self, slug: str, country: str) -> int:
        platform, created = ForeignPlatform.objects.get_or_create(
            slug=slug, defaults={"name": slug, "country": country, "verified": False}
        )
        if created:
            self.result.platforms_created.append(slug)
        self.ids[slug] = platform.id
        return platform.id


def _escape(text: str) -> str:
    # COPY text format: validated text has no control characters, so only the backslash needs escaping.
    return text.replace("\\", "\\\\") if "\\" in text else text


class _Copy:
    """A COPY that can be paused (to create a platform on the same connection) and resumed."""

    def __init__(self, cursor, sql: str):
        self.cursor = cursor
        self.sql = sql
        self._cm = None
        self._copy = None

    def write(self, data: str) -> None:
        if self._copy is None:
            from psycopg.copy import QueuedLibpqWriter

            # A worker thread sends while this one validates the next rows (the wait for the
            # server's socket releases the GIL). The queue is bounded, so memory stays flat.
            self._cm = self.cursor.copy(self.sql, writer=QueuedLibpqWriter(self.cursor))
            self._copy = self._cm.__enter__()
        self._copy.write(data)

    def close(self, exc: BaseException | None = None) -> None:
        if self._cm is not None:
            cm, self._cm, self._copy = self._cm, None, None
            if exc is None:
                cm.__exit__(None, None, None)
            else:
                cm.__exit__(type(exc), exc, exc.__traceback__)


def _data_rows(records: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of the non-blank records (operators.tabular.reader.numbered)."""
    for row_no, cells in numbered(records):
        # Blank spreadsheet rows (an empty line, or only delimiters) are skipped but still numbered.
        if not cells or (not cells[0] and not any(cells)):
            continue
        yield row_no, cells


def _pg_load(
    *,
    filing: RegistrationFiling,
    records,
    checker: TransferChecker,
    errors: ErrorList,
    stage: bool,
    result: IngestResult,
) -> None:
    """One streaming pass; in direct mode raises _Fallback at the first problem."""
    import psycopg

    platforms = _Platforms(result)
    raw = connection.cursor().connection  # the psycopg connection, inside Django's transaction
    with raw.cursor() as cur:
        if stage:
            cur.execute("DROP TABLE IF EXISTS intake_stage")
            cur.execute(
                "CREATE TEMP TABLE intake_stage (row_no integer, external_id text, occurred_at timestamptz,"
                " direction text, investor_ref text, platform_id bigint, asset text, amount numeric,"
                " value_byn numeric) ON COMMIT DROP"
            )
            copy = _Copy(cur, "COPY intake_stage FROM STDIN")
        else:
            copy = _Copy(cur, f"COPY {TABLE} ({COLUMNS}) FROM STDIN")
        prefix = f"{filing.operator_id}\t{filing.id}\t"
        suffix = "\n"
        buf: list[str] = []
        out_values: list[str] = []
        in_values: list[str] = []
        ids = platforms.ids
        ext_at = checker.positions[0]
        check = checker.fast
        total = 0
        # The hot loop numbers inline as operators.tabular.reader.numbered does (enumerate from
        # FIRST_DATA_ROW; a broken record is the one after the last read), without its generator step.
        row_no = FIRST_DATA_ROW - 1
        try:
            for row_no, cells in enumerate(records, FIRST_DATA_ROW):
                if not cells or (not cells[0] and not any(cells)):
                    continue
                total += 1
                t = check(row_no, cells)
                if t is None:
                    if not stage:
                        raise _Fallback
                    # A bad row's external_id still takes part in the duplicate check, so that
                    # fixing the row does not reveal a new error in the next round.
                    bad_ext = cells[ext_at].strip() if len(cells) > ext_at else ""
                    if bad_ext and len(bad_ext) <= 64 and bad_ext.isprintable():
                        buf.append(f"{row_no}\t{_escape(bad_ext)}\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n")
                    continue
                ext, when, direction, investor, slug, country, asset, amount, value = t
                pid = ids.get(slug)
                if pid is None:
                    if buf:
                        copy.write("".join(buf))
                        buf.clear()
                    copy.close()
                    pid = platforms.create(slug, country)
                if direction == "OUT":
                    out_values.append(value)
                else:
                    in_values.append(value)
                if "\\" in ext or "\\" in investor:
                    ext, investor = _escape(ext), _escape(investor)
                if stage:
                    buf.append(f"{row_no}\t{ext}\t{when}\t{direction}\t{investor}\t{pid}\t{asset}\t{amount}\t{value}\n")
                else:
                    buf.append(
                        f"{prefix}{ext}\t{when}\t{direction}\t{investor}\t{pid}\t{asset}\t{amount}\t{value}{suffix}"
                    )
                if len(buf) >= _FLUSH_ROWS:
                    copy.write("".join(buf))
                    buf.clear()
                    # Summing in chunks keeps memory flat and the Decimal work off the hot path.
                    result.out_value += sum(map(Decimal, out_values), Decimal(0))
                    result.in_value += sum(map(Decimal, in_values), Decimal(0))
                    out_values.clear()
                    in_values.clear()
            if buf:
                copy.write("".join(buf))
            copy.close()
        except csv.Error as exc:
            copy.close(exc)
            raise FileRejected("csv_syntax", row=row_no + 1, value=str(exc)) from exc
        except psycopg.errors.UniqueViolation as exc:
            # Reported by the send thread during a write: end the COPY (and the thread) before going on.
            with contextlib.suppress(psycopg.Error):
                copy.close(exc)
            if stage:
                raise
            raise _Fallback from exc
        except BaseException as exc:
            try:
                copy.close(exc)
            except psycopg.errors.UniqueViolation as inner:
                if stage:
                    raise
                raise _Fallback from inner
            raise
        result.out_value += sum(map(Decimal, out_values), Decimal(0))
        result.in_value += sum(map(Decimal, in_values), Decimal(0))
        result.rows_total = total
        if not stage:
            result.rows_imported = total
            return
        _stage_duplicates(cur, errors)
        cur.execute(
            "SELECT s.row_no, s.external_id FROM intake_stage s JOIN " + TABLE + " t"  # noqa: S608
            " ON t.operator_id = %s AND t.external_id = s.external_id"
            " WHERE s.occurred_at IS NOT NULL"
            " AND (t.occurred_at, t.direction, t.investor_ref, t.platform_id, t.asset, t.amount, t.value_byn)"
            " IS DISTINCT FROM (s.occurred_at, s.direction, s.investor_ref, s.platform_id, s.asset, s.amount,"
            " s.value_byn) ORDER BY s.row_no",
            (filing.operator_id,),
        )
        for row_no, ext in cur:
            errors.add(row_no, "external_id", ext, "external_id_conflict")
        if errors:
            return
        # Loading in the unique index's order keeps its pages hot.
        cur.execute(
            f"INSERT INTO {TABLE} ({COLUMNS}) SELECT %s, %s, s.external_id, s.occurred_at, s.direction,"  # noqa: S608
            " s.investor_ref, s.platform_id, s.asset, s.amount, s.value_byn FROM intake_stage s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {TABLE} t WHERE t.operator_id = %s AND t.external_id = s.external_id)"
            " ORDER BY s.external_id",
            (filing.operator_id, filing.id, filing.operator_id),
        )
        result.rows_imported = cur.rowcount
        result.rows_skipped = total - cur.rowcount


def _stage_duplicates(cur, errors: ErrorList) -> None:
    cur.execute(
        "SELECT row_no, external_id FROM (SELECT row_no, external_id,"
        " row_number() OVER (PARTITION BY external_id ORDER BY row_no) AS n FROM intake_stage) d"
        " WHERE n > 1 ORDER BY row_no"
    )
    for row_no, ext in cur:
        errors.add(row_no, "external_id", ext, "duplicate_external_id")


def _sqlite_load(
    *, filing: RegistrationFiling, records, checker: TransferChecker, errors: ErrorList, result: IngestResult
) -> None:
    """Batched insert for the embedded default; in-file duplicates and conflicts checked per batch."""
    from outflows.models import CrossBorderTransfer

    platforms = _Platforms(result)
    now = timezone.now()
    seen: dict[str, int] = {}
    batch: list[tuple[int, tuple]] = []
    total = 0

    def flush() -> None:
        existing = {
            t.external_id: t
            for t in CrossBorderTransfer.objects.filter(
                operator_id=filing.operator_id, external_id__in=[b[1][0] for b in batch]
            )
        }
        objs = []
        for row_no, (ext, when, direction, investor, slug, _country, asset, amount, value) in batch:
            pid = platforms.ids[slug]
            old = existing.get(ext)
            if old is not None:
                same = (
                    old.occurred_at,
                    old.direction,
                    old.investor_ref,
                    old.platform_id,
                    old.asset,
                    old.amount,
                    old.value_byn,
                ) == (when, direction, investor, pid, asset, Decimal(amount), Decimal(value))
                if same:
                    result.rows_skipped += 1
                else:
                    errors.add(row_no, "external_id", ext, "external_id_conflict")
                continue
            objs.append(
                CrossBorderTransfer(
                    operator_id=filing.operator_id,
                    filing_id=filing.id,
                    external_id=ext,
                    occurred_at=when,
                    direction=direction,
                    investor_ref=investor,
                    platform_id=pid,
                    asset=asset,
                    amount=Decimal(amount),
                    value_byn=Decimal(value),
                    updated_at=now,
                )
            )
        if not errors:
            CrossBorderTransfer.objects.bulk_create(objs, batch_size=500)
            result.rows_imported += len(objs)
        batch.clear()

    for row_no, cells in _data_rows(records):
        total += 1
        t = checker(row_no, cells)
        if t is None:
            bad_ext = cells[checker.positions[0]].strip() if len(cells) > checker.positions[0] else ""
            if bad_ext in seen:
                errors.add(row_no, "external_id", bad_ext, "duplicate_external_id")
            elif bad_ext:
                seen[bad_ext] = row_no
            continue
        t = (t[0], datetime.fromisoformat(t[1]), *t[2:])
        ext = t[0]
        if ext in seen:
            errors.add(row_no, "external_id", ext, "duplicate_external_id")
            continue
        seen[ext] = row_no
        if t[4] not in platforms.ids:
            platforms.create(t[4], t[5])
        if t[2] == "OUT":
            result.out_value += Decimal(t[8])
        else:
            result.in_value += Decimal(t[8])
        batch.append((row_no, t))
        if len(batch) >= 2000:
            flush()
    if batch:
        flush()
    result.rows_total = total


def transfer_register_ingest(
    *,
    filing: RegistrationFiling,
    records: Iterator[list[str]],
    reopen,
    checker: TransferChecker,
    errors: ErrorList,
) -> IngestResult:
    """Validate and load a transfer register's records for ``filing``; the caller's transaction decides.

    ``records`` is one pass over the file's data records (the first is
    spreadsheet row 2); ``reopen()`` gives a fresh pass (needed when the direct
    COPY falls back to stage mode). On return, ``errors`` holds every problem
    found; when it is not empty the caller must roll back. Raises FileRejected
    when the file cannot be parsed further (CSV syntax). Must run inside
    ``transaction.atomic()``.

    On PostgreSQL the rows are first loaded with a direct COPY; at the first
    bad row or conflict, the file is redone in stage mode, which reports every
    error. Each attempt runs in its own savepoint. (A vectorised polars path
    was measured: slower and 2x the memory on this 2-core machine, so removed.)
    """
    result = IngestResult()
    if connection.vendor != "postgresql":
        _sqlite_load(filing=filing, records=records, checker=checker, errors=errors, result=result)
        return result
    try:
        with transaction.atomic():
            _pg_load(filing=filing, records=records, checker=checker, errors=errors, stage=False, result=result)
        return result
    except _Fallback:
        pass
    errors.clear()
    errors.overflow = False
    result = IngestResult()
    _pg_load(filing=filing, records=reopen(), checker=checker, errors=errors, stage=True, result=result)
    return result
