"""Benchmark of a resubmission (issue 17 item 6): the superseded register's rows archived, not deleted.

    PG_PORT=55535 REDIS_PORT=56535 BENCHES=bench/supersede.py ROWS=1000000 \
        flock /work/helpers/bench.lock scripts/bench.sh

Uses its own database ``bench_supersede`` on the server of DATABASE_URL. After a
preload of --rows rows (another operator), each round files a register of N
rows for a month and then resubmits that month with N rows under the same
external ids (other values): the intake moves the first register's rows out
and loads the new ones in one transaction. The rounds alternate the two ways
of moving them out, so the machine's load falls on both alike:

* ``archive``: the rows go to ArchivedTransfer (``outflows.inputs.filing_rows_archive``, the code now);
* ``delete``: the rows are deleted (the code before, ``.filter(filing=...).delete()``).

Printed per round: the first filing's intake, the resubmission's intake, the
move (or delete) alone inside it, and the resubmission's ratio to the floor (a
plain COPY of the same file into an unindexed table, as bench/ingest.py).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import PLATFORMS, generate  # noqa: E402  (bench/ingest.py: the same registers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4, help="alternating archive / delete")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    base = os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal")
    parts = urlsplit(base)
    import psycopg

    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_supersede")
        admin.execute("CREATE DATABASE bench_supersede")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/bench_supersede"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="bench-media-")
    os.environ["FILING_MAX_UPLOAD_BYTES"] = str(8 * 1024**3)

    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from filings import hooks
    from filings.services import filing_submit
    from operators.models import FilingKind, FilingStatus, ForeignPlatform, Operator
    from outflows.filing_hooks import transfer_register_load
    from outflows.inputs import filing_rows_archive
    from outflows.models import ArchivedTransfer, CrossBorderTransfer

    hooks.on_filing_accepted.clear()  # the recompute is its own job (bench/outflows.py)
    call_command("migrate", verbosity=0)
    for slug, country in PLATFORMS:
        ForeignPlatform.objects.get_or_create(slug=slug, defaults={"name": slug, "country": country, "verified": True})

    def operator(unp: str) -> Operator:
        return Operator.objects.get_or_create(
            unp=unp,
            defaults={"name": unp, "htp_certificate_no": "HTP-1", "htp_certificate_valid_until": date(2030, 1, 1),
                      "activity": "exchange"},
        )[0]  # fmt: skip

    moved_s: list[float] = []

    def timed(function):
        def move_out(*, filing) -> None:
            t0 = time.perf_counter()
            function(filing=filing)
            moved_s.append(time.perf_counter() - t0)

        return move_out

    ways = {
        "archive": timed(filing_rows_archive),
        "delete": timed(lambda *, filing: CrossBorderTransfer.objects.filter(filing=filing).delete()),
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-supersede-"))

    def intake(op: Operator, path: Path, month: date):
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        with open(path, "rb") as fh:
            result = filing_submit(operator=op, kind="transfer_register", period_start=month, period_end=end,
                                   uploaded_file=File(fh, name=path.name), user=None, process_now=True)  # fmt: skip
        assert result.status == FilingStatus.ACCEPTED, result.errors[:3]
        return result

    pre = tmp / "preload.csv"
    generate(pre, args.rows, seed=2, month=date(2025, 2, 1), prefix="P")
    intake(operator("191234563"), pre, date(2025, 2, 1))
    pre.unlink()
    target = operator("190000003")

    def floor(path: Path) -> float:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_floor")
            cur.execute("CREATE TABLE bench_floor (external_id text, occurred_at timestamptz, direction text,"
                        " investor_ref text, platform text, platform_country text, asset text, amount numeric,"
                        " value_byn numeric)")  # fmt: skip
        raw = connection.cursor().connection
        t0 = time.perf_counter()
        with (
            raw.transaction(),
            raw.cursor() as cur,
            cur.copy("COPY bench_floor FROM STDIN (FORMAT csv, HEADER true)") as cp,
            open(path, "rb") as fh,
        ):
            while chunk := fh.read(1 << 20):
                cp.write(chunk)
        elapsed = time.perf_counter() - t0
        with connection.cursor() as cur:
            cur.execute("DROP TABLE bench_floor")
        return elapsed

    print(f"{'round':>5} {'way':>8} {'first s':>8} {'resubmit s':>10} {'move s':>7} {'floor s':>7} {'x floor':>7} "
          f"{'first x':>7} {'load':>5}")  # fmt: skip
    for k in range(args.rounds):
        way = "archive" if k % 2 == 0 else "delete"
        hooks.register_row_importer(FilingKind.TRANSFER_REGISTER, load=transfer_register_load, delete=ways[way])
        month = date(2025 + (3 + k) // 12, (3 + k) % 12 + 1, 1)
        first, again = tmp / f"first{k}.csv", tmp / f"again{k}.csv"
        generate(first, args.rows, seed=10 + k, month=month, prefix=f"R{k}-")
        generate(again, args.rows, seed=100 + k, month=month, prefix=f"R{k}-")  # same ids, other values
        t0 = time.perf_counter()
        intake(target, first, month)
        first_s = time.perf_counter() - t0
        moved_s.clear()
        t0 = time.perf_counter()
        intake(target, again, month)
        again_s = time.perf_counter() - t0
        floor_s = floor(again)
        first_floor = floor(first)
        ratios = f"{again_s / floor_s:7.2f} {first_s / first_floor:7.2f} {os.getloadavg()[0]:5.1f}"
        print(f"{k:>5} {way:>8} {first_s:8.2f} {again_s:10.2f} {sum(moved_s):7.2f} {floor_s:7.2f} {ratios}", flush=True)
        first.unlink()
        again.unlink()
    print(f"archived rows: {ArchivedTransfer.objects.count():,}; live rows: {CrossBorderTransfer.objects.count():,}")
    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('outflows_archivedtransfer')")
        print(f"archive size: {cur.fetchone()[0] / 1e6:,.0f} MB")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
