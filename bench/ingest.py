"""Benchmark of the transfer-register intake (issue 3).

    DATABASE_URL=postgres://portal@127.0.0.1:55432/portal .venv/bin/python bench/ingest.py --rows 1000000

Uses its own database ``bench_ingest`` on the server of DATABASE_URL (created
and migrated here; never the portal's own database). It

1. loads ``--preload`` rows (default: as many as --rows) through the same intake
   as earlier filings of other operators, so the real table and its indexes
   already hold data;
2. generates a transfer register of N rows (CSV, streamed to disk). ``--order
   chronological`` (the default) writes it as operators' systems export one and as
   ../shared/samples/ show: in time order with the external ids in sequence;
   ``--order shuffled`` draws each row's time at random within the month (the ids
   still in sequence), the worst case for the indexes: the list btree on
   ``(occurred_at, id)`` and the unique ``(operator, external_id)`` then grow at
   unrelated places (sorting the rows by time before the COPY only moves the cost
   from the one to the other: measured, bench/README_ingest.md);
3. times the whole intake of it — store, parse, validate, COPY, commit — via
   ``filing_submit(..., process_now=True)``, the path of ``manage.py import_filing``;
4. times, as the floor, a plain ``COPY`` of the same file into an unindexed table;
5. prints rows/s, the ratio to the floor and the peak RSS of this process.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
PLATFORMS = [("binance", "AE"), ("bybit", "AE"), ("okx", "SC"), ("kraken", "US"), ("kucoin", "SC"), ("htx", "SC")]


def generate(path: Path, rows: int, *, seed: int, month: date, prefix: str, order: str = "chronological") -> None:
    rnd = random.Random(seed)
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    span = 27 * 86400
    clock = 0.0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        buf = []
        for i in range(rows):
            if order == "chronological":
                # As operators' systems export a register (and as ../shared/samples/ do): in time
                # order, the external ids in sequence; the gaps of a Poisson process over 27 days.
                clock += rnd.expovariate(rows / span)
                when = start + timedelta(seconds=int(min(clock, span - 1)))
            else:
                when = start + timedelta(seconds=rnd.randrange(span))
            slug, country = PLATFORMS[i % len(PLATFORMS)]
            value = rnd.randrange(100, 5_000_000)
            buf.append(
                f"{prefix}{i:09d},{when:%Y-%m-%dT%H:%M:%S}Z,{'OUT' if i % 3 else 'IN'},inv{rnd.randrange(200_000):06d},"
                f"{slug},{country},USDT,{value / 325:.6f},{value // 100}.{value % 100:02d}\n"
            )
            if len(buf) >= 50_000:
                out.write("".join(buf))
                buf.clear()
        out.write("".join(buf))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--preload", type=int, default=None, help="rows already in the table (default: --rows)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--order",
        choices=("chronological", "shuffled"),
        default="chronological",
        help="rows in time order with ids in sequence, as registers are exported (default), or in random time order",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database between runs (no drop)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    preload = args.rows if args.preload is None else args.preload

    base = os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/ingest.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    import psycopg

    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if not args.keep:
            admin.execute("DROP DATABASE IF EXISTS bench_ingest")
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_ingest'").fetchone()
        if not exists:
            admin.execute("CREATE DATABASE bench_ingest")
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/bench_ingest"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    media = tempfile.mkdtemp(prefix="bench-media-")
    os.environ["MEDIA_ROOT"] = media
    os.environ["FILING_MAX_UPLOAD_BYTES"] = str(8 * 1024**3)

    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from filings import hooks
    from filings.services import filing_submit
    from operators.models import FilingStatus, ForeignPlatform, Operator

    # The outflow recompute an accepted register schedules is a separate job
    # with its own benchmark (bench/outflows); with eager Celery it would run
    # inside the timing here. Accepted filings announce themselves through this hook only.
    hooks.on_filing_accepted.clear()

    call_command("migrate", verbosity=0)
    for slug, country in PLATFORMS:
        ForeignPlatform.objects.get_or_create(slug=slug, defaults={"name": slug, "country": country, "verified": True})

    def operator(unp: str, name: str) -> Operator:
        return Operator.objects.get_or_create(
            unp=unp,
            defaults={
                "name": name,
                "htp_certificate_no": "HTP-1",
                "htp_certificate_valid_until": date(2030, 1, 1),
                "activity": "exchange",
            },
        )[0]

    earlier = operator("191234563", "Earlier Operator")
    target = operator("190000003", "Bench Operator")
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))

    def intake(op: Operator, path: Path, month: date):
        end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        with open(path, "rb") as fh:
            return filing_submit(
                operator=op,
                kind="transfer_register",
                period_start=month,
                period_end=end,
                uploaded_file=File(fh, name=path.name),
                user=None,
                process_now=True,
            )

    if preload:
        pre = tmp / "preload.csv"
        generate(pre, preload, seed=args.seed + 1, month=date(2025, 2, 1), prefix="P", order=args.order)
        t0 = time.perf_counter()
        r = intake(earlier, pre, date(2025, 2, 1))
        assert r.status == FilingStatus.ACCEPTED, r.errors[:3]
        print(f"preloaded {preload:,} rows in {time.perf_counter() - t0:.1f} s")
        pre.unlink()
    path = tmp / "register.csv"
    t0 = time.perf_counter()
    generate(path, args.rows, seed=args.seed, month=date(2025, 3, 1), prefix="B", order=args.order)
    size = path.stat().st_size
    print(f"generated {args.rows:,} rows ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM outflows_crossbordertransfer")
        before = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'outflows_crossbordertransfer'")
        n_indexes = cur.fetchone()[0]

    t0 = time.perf_counter()
    result = intake(target, path, date(2025, 3, 1))
    intake_s = time.perf_counter() - t0
    assert result.status == FilingStatus.ACCEPTED, result.errors[:3]
    assert result.filing.rows_imported == args.rows

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_floor")
        cur.execute(
            "CREATE TABLE bench_floor (external_id text, occurred_at timestamptz, direction text, investor_ref text,"
            " platform text, platform_country text, asset text, amount numeric, value_byn numeric)"
        )
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
    floor_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_floor")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rate = args.rows / intake_s
    print(f"table before: {before:,} rows, {n_indexes} indexes")
    print(
        f"intake:  {args.rows:,} rows in {intake_s:.2f} s = {rate:,.0f} rows/s (store, parse, validate, COPY, commit)"
    )
    print(f"floor:   plain COPY into an unindexed table {floor_s:.2f} s = {args.rows / floor_s:,.0f} rows/s")
    print(f"ratio:   {intake_s / floor_s:.2f}x the floor")
    print(f"peak RSS of this process: {peak_mb:,.0f} MB")
    path.unlink()


if __name__ == "__main__":
    main()
