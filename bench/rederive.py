"""Benchmark of runs that can be re-derived (issue 17 item 6): the archive move and `--as-known-at`.

    PG_PORT=55535 REDIS_PORT=56535 BENCHES=bench/rederive.py ROWS=1000000 \
        flock /work/helpers/bench.lock scripts/bench.sh

Own database ``bench_rederive``. One register of --rows rows is filed through the intake; then

1. the ways of taking its rows out of the live table, each timed inside a transaction that is
   rolled back (the same rows every time), interleaved over --rounds rounds: ``delete`` (the
   code before), ``archive`` (the code now: INSERT ... SELECT into the archive, then DELETE, with
   the archive's BRIN on filing_id), ``archive, btree`` (the same with a btree on the archive's
   filing_id), ``cte`` (one ``WITH moved AS (DELETE ... RETURNING) INSERT`` statement);
2. a run, the register resubmitted (its rows archived), a run again, and the first run
   re-derived (`outflows.rederive`, the path of ``compute_outflows --as-known-at``): the times of
   the runs and of the re-derivation, which reads the live and archived rows of its filings.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import PLATFORMS, generate  # noqa: E402  (bench/ingest.py: the same registers)

COLUMNS = (
    "id, operator_id, filing_id, external_id, occurred_at, direction, investor_ref, platform_id, asset, amount,"
    " value_byn, updated_at"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal")
    parts = urlsplit(base)
    import psycopg

    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_rederive")
        admin.execute("CREATE DATABASE bench_rederive")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/bench_rederive"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-media-")
    os.environ["FILING_MAX_UPLOAD_BYTES"] = str(8 * 1024**3)

    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection, transaction

    from filings import hooks
    from filings.services import filing_submit
    from operators.models import FilingStatus, ForeignPlatform, Operator
    from outflows import readers
    from outflows.rederive import outflow_rederive
    from outflows.services import outflow_run_compute

    hooks.on_filing_accepted.clear()  # the recompute is its own job
    call_command("migrate", verbosity=0)
    for slug, country in PLATFORMS:
        ForeignPlatform.objects.get_or_create(slug=slug, defaults={"name": slug, "country": country, "verified": True})
    op = Operator.objects.create(unp="190000003", name="Bench", htp_certificate_no="1",
                                 htp_certificate_valid_until=date(2030, 1, 1), activity="exchange")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="bench-rederive-"))

    def intake(path: Path):
        with open(path, "rb") as fh:
            result = filing_submit(operator=op, kind="transfer_register", period_start=date(2025, 3, 1),
                                   period_end=date(2025, 3, 31), uploaded_file=File(fh, name=path.name), user=None,
                                   process_now=True)  # fmt: skip
        assert result.status == FilingStatus.ACCEPTED, result.errors[:3]
        return result.filing

    first_file, again_file = tmp / "first.csv", tmp / "again.csv"
    generate(first_file, args.rows, seed=1, month=date(2025, 3, 1), prefix="R")
    generate(again_file, args.rows, seed=2, month=date(2025, 3, 1), prefix="R")  # same ids, other values
    filing = intake(first_file)
    fid = int(filing.pk)
    live, archive = "outflows_crossbordertransfer", "outflows_archivedtransfer"
    ways = {
        "delete": ([], [f"DELETE FROM {live} WHERE filing_id = {fid}"]),
        "archive": (
            [],
            [
                f"INSERT INTO {archive} ({COLUMNS}) SELECT {COLUMNS} FROM {live} WHERE filing_id = {fid}",
                f"DELETE FROM {live} WHERE filing_id = {fid}",
            ],
        ),
        "archive, btree": (
            [f"CREATE INDEX bench_archive_filing_btree ON {archive} (filing_id)"],
            [
                f"INSERT INTO {archive} ({COLUMNS}) SELECT {COLUMNS} FROM {live} WHERE filing_id = {fid}",
                f"DELETE FROM {live} WHERE filing_id = {fid}",
            ],
        ),
        "cte": (
            [],
            [
                f"WITH moved AS (DELETE FROM {live} WHERE filing_id = {fid} RETURNING {COLUMNS})"
                f" INSERT INTO {archive} ({COLUMNS}) SELECT {COLUMNS} FROM moved"
            ],
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    print(f"1. taking {args.rows:,} rows of one register out of the live table (rolled back each time)")
    for k in range(args.rounds):
        for name, (setup, statements) in ways.items():
            with transaction.atomic():
                with connection.cursor() as cursor:
                    for statement in setup:
                        cursor.execute(statement)
                    t0 = time.perf_counter()
                    for statement in statements:
                        cursor.execute(statement)
                    elapsed = time.perf_counter() - t0
                transaction.set_rollback(True)
            print(f"   round {k} {name:>15} {elapsed:6.2f} s   load {os.getloadavg()[0]:.1f}", flush=True)

    readers.warm_up()
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    first = outflow_run_compute(as_of=as_of, window_days=365)
    run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    intake(again_file)
    resubmit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = outflow_run_compute(as_of=as_of, window_days=365)
    second_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = outflow_rederive(run=first)
    rederive_s = time.perf_counter() - t0
    print(f"2. run {run_s:.2f} s ({first.input_rows:,} rows); resubmission (intake with the move) {resubmit_s:.2f} s;")
    print(f"   run after it {second_s:.2f} s; first run re-derived {rederive_s:.2f} s from live + archived rows:")
    print(f"   reproduced={found.reproduced}, fingerprint same={found.fingerprint_same}, "
          f"{len(found.rows):,} stat rows, {len(found.differences)} differ; second run's fingerprint differs: "
          f"{second.input_fingerprint != first.input_fingerprint}; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    first_file.unlink()
    again_file.unlink()


if __name__ == "__main__":
    main()
