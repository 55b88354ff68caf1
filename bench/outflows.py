"""Benchmark of one outflow run (DESIGN section 5) end to end on PostgreSQL.

    .venv/bin/python bench/outflows.py --rows 1000000
    .venv/bin/python bench/outflows.py --rows 10000000 --no-reference

Loads N synthetic transfers into a separate database (default `bench_outflows`,
created when missing, never the portal's) with COPY in a child process (not
timed, and its memory is not counted), then times one full run in this process:
read from PostgreSQL, compute, store the OutflowStat rows. Prints rows/s and
the peak RSS of this process. With --reference (default up to 1,000,000 rows)
it then times the plain-loop reference of tests/outflows/reference.py on the
same transfers, checks every figure is equal to the kopeck and prints the
speed-up. The server is taken from DATABASE_URL (default the dev PostgreSQL).
"""

import argparse
import datetime as dt
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20250101
N_OPERATORS = 20
N_PLATFORMS = 60
COUNTRIES = ["CY", "SC", "VG", "KY", "AE", "SG", "HK", "MT", "EE", "LT", "TR", "RU", "KZ", "GE", "AM"]
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SPAN_S = 2 * 365 * 86_400
# Assets and their prices in BYN (amount = value / price): each investor's rows alternate between two
# of them, so pairs mix assets and the unit-based walk and the asset cross-tab have work to do.
ASSETS = ("USDT", "BTC", "ETH", "TON", "TRX")
PRICES = (3.3, 300000, 11000, 17, 0.8)
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _database_url(name: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal"))
    return urlunsplit(base._replace(path=f"/{name}"))


def _ensure_database(name: str) -> None:
    import psycopg

    admin = urlsplit(_database_url("postgres"))
    with psycopg.connect(urlunsplit(admin._replace(scheme="postgresql")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(name: str) -> None:
    os.environ["DATABASE_URL"] = _database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)  # the lock in local memory: the bench never shares a cache
    import django

    django.setup()


def _valid_unps(n: int) -> list[str]:
    """n valid UNPs (some 8-digit bodies have no valid check digit: they are skipped)."""
    from stdnum.by import unp
    from stdnum.exceptions import ValidationError

    found, i = [], 0
    while len(found) < n:
        body = f"19{i:06d}"
        i += 1
        try:
            found.append(body + unp.calc_check_digit(body))
        except ValidationError:
            continue
    return found


def load(rows: int, *, loader: str = "copy") -> None:
    """Replace the bench transfers by `rows` synthetic ones (deterministic), via COPY."""
    import numpy as np
    from django.core.management import call_command
    from django.db import connection

    from operators.models import FilingKind, ForeignPlatform, Operator, RegistrationFiling

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE outflows_outflowstat, outflows_outflowrun, outflows_crossbordertransfer CASCADE")
    operators = [
        Operator.objects.get_or_create(
            unp=unp,
            defaults={"name": f"Bench operator {i}", "htp_certificate_no": f"B-{i}",
                      "htp_certificate_valid_until": dt.date(2030, 1, 1), "activity": "exchange"},
        )[0]
        for i, unp in enumerate(_valid_unps(N_OPERATORS))
    ]  # fmt: skip
    platforms = [
        ForeignPlatform.objects.get_or_create(
            slug=f"bench-platform-{i:02d}", defaults={"name": f"Platform {i}", "country": COUNTRIES[i % len(COUNTRIES)]}
        )[0]
        for i in range(N_PLATFORMS)
    ]
    filings = [
        RegistrationFiling.objects.get_or_create(
            operator=op, kind=FilingKind.TRANSFER_REGISTER, period_start=dt.date(2024, 1, 1),
            period_end=dt.date(2025, 12, 31), defaults={"sha256": "0" * 64, "original_name": "bench.csv"},
        )[0]
        for op in operators
    ]  # fmt: skip
    if loader == "sql":
        _generate_in_database(rows, operators=operators, filings=filings, platforms=platforms)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE outflows_crossbordertransfer")
        return
    rng = np.random.default_rng(SEED)
    # About 8 transfers per investor, mostly on one "home" platform, so pairs have
    # histories; 55 % OUT; returns are as likely as outbounds to come first.
    n_investors = max(1, rows // 8)
    investor = rng.integers(0, n_investors, rows)
    home = (investor * 7919) % N_PLATFORMS
    platform = np.where(rng.random(rows) < 0.85, home, rng.integers(0, N_PLATFORMS, rows))
    operator = (investor * 104729 + rng.integers(0, 3, rows)) % N_OPERATORS
    seconds = rng.integers(0, SPAN_S, rows)
    is_out = rng.random(rows) < 0.55
    cents = np.maximum(1, rng.lognormal(mean=11.0, sigma=1.2, size=rows).astype(np.int64))
    start_s = int(START.timestamp())
    op_ids = np.array([o.pk for o in operators])
    filing_ids = np.array([f.pk for f in filings])
    plat_ids = np.array([p.pk for p in platforms])
    chunk = 500_000
    with connection.cursor() as cursor:
        copy_sql = (
            "COPY outflows_crossbordertransfer (operator_id, filing_id, external_id, occurred_at, direction, "
            "investor_ref, platform_id, asset, amount, value_byn, updated_at) FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for lo in range(0, rows, chunk):
                hi = min(rows, lo + chunk)
                lines = []
                for k, inv, plat, op, sec, out, c in zip(
                    range(lo, hi), investor[lo:hi].tolist(), platform[lo:hi].tolist(), operator[lo:hi].tolist(),
                    seconds[lo:hi].tolist(), is_out[lo:hi].tolist(), cents[lo:hi].tolist(), strict=True,
                ):  # fmt: skip
                    when = dt.datetime.fromtimestamp(start_s + sec, tz=dt.UTC).isoformat()
                    a = (inv + k % 2) % len(ASSETS)
                    lines.append(
                        f"{op_ids[op]}\t{filing_ids[op]}\tx{k}\t{when}\t{'OUT' if out else 'IN'}\tinv-{inv:08d}\t"
                        f"{plat_ids[plat]}\t{ASSETS[a]}\t{c / 100 / PRICES[a]:.8f}\t{c // 100}.{c % 100:02d}\t{when}\n"
                    )
                copy.write("".join(lines))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE outflows_crossbordertransfer")


def _generate_in_database(rows: int, *, operators, filings, platforms) -> None:
    """The same distribution as the COPY loader, generated by the server (several times faster at 10M)."""
    from django.db import connection

    op_ids = ",".join(str(o.pk) for o in operators)
    filing_ids = ",".join(str(f.pk) for f in filings)
    plat_ids = ",".join(str(p.pk) for p in platforms)
    assets = ",".join(f"'{ticker}'" for ticker in ASSETS)
    prices = ",".join(str(price) for price in PRICES)
    start_s = int(START.timestamp())
    sql = f"""
        INSERT INTO outflows_crossbordertransfer (operator_id, filing_id, external_id, occurred_at, direction,
            investor_ref, platform_id, asset, amount, value_byn, updated_at)
        SELECT (ARRAY[{op_ids}])[o + 1], (ARRAY[{filing_ids}])[o + 1], 'x' || i, ts,
               CASE WHEN is_out THEN 'OUT' ELSE 'IN' END, 'inv-' || lpad(inv::text, 8, '0'),
               (ARRAY[{plat_ids}])[p + 1], (ARRAY[{assets}])[a + 1],
               round(cents / 100.0 / (ARRAY[{prices}])[a + 1], 8), cents / 100.0, ts
        FROM (
            SELECT i, inv, is_out, cents, to_timestamp({start_s} + sec) AS ts, (inv + i % 2) % {len(ASSETS)} AS a,
                   CASE WHEN r_home < 0.85 THEN (inv * 7919) % {N_PLATFORMS} ELSE r_plat END AS p,
                   (inv * 104729 + r_op) % {N_OPERATORS} AS o
            FROM (
                SELECT i, floor(random() * {max(1, rows // 8)})::bigint AS inv, random() AS r_home,
                       floor(random() * {N_PLATFORMS})::int AS r_plat, floor(random() * 3)::int AS r_op,
                       floor(random() * {SPAN_S})::bigint AS sec, random() < 0.55 AS is_out,
                       greatest(1, exp(11.0 + 1.2 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))::bigint
                           AS cents
                FROM generate_series(0, {rows - 1}) AS g(i)
            ) AS drawn
        ) AS t
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2025)")
        cursor.execute(sql)


def _transfers_for_reference() -> list[dict]:
    from operators.models import ForeignPlatform, Operator
    from outflows import engine
    from outflows.models import CrossBorderTransfer

    unp = dict(Operator.objects.values_list("id", "unp"))
    platforms = {
        pk: (slug, country) for pk, slug, country in ForeignPlatform.objects.values_list("id", "slug", "country")
    }
    rows = []
    query = CrossBorderTransfer.objects.values_list(
        "id", "investor_ref", "platform_id", "operator_id", "occurred_at", "direction", "value_byn"
    )
    for pk, investor, platform_id, operator_id, occurred_at, direction, value in query.iterator(chunk_size=20_000):
        slug, country = platforms[platform_id]
        rows.append({
            "id": pk, "investor": investor, "platform": slug, "country": country, "operator": unp[operator_id],
            "t": engine.epoch_us(occurred_at), "direction": direction, "value": int(value.scaleb(2)),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_outflows")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--reload", action="store_true", help="load the data even if the row count matches")
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument(
        "--loader", choices=["copy", "sql"], default="copy",
        help="copy: rows made here and sent with COPY; sql: generated by the server (faster for 10M)",
    )  # fmt: skip
    parser.add_argument("--load-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.database == "portal":
        parser.error("use a database of its own for the benchmark")

    if args.load_only:
        _setup_django(args.database)
        load(args.rows, loader=args.loader)
        return

    _ensure_database(args.database)
    _setup_django(args.database)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outflows_crossbordertransfer")
        present = cursor.fetchone()[0]
    if args.reload or present != args.rows:
        print(f"loading {args.rows:,} transfers into {args.database} (not timed) ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--rows",
                str(args.rows),
                "--database",
                args.database,
                "--load-only",
                "--loader",
                args.loader,
            ],
            check=True,
        )
        print(f"  loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    connection.close()

    from outflows import services

    # Loads the compiled engine and reader from numba's on-disk cache (compiles them the very first time).
    t0 = time.perf_counter()
    services.outflow_compute(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    services.warm_up()
    warmup = time.perf_counter() - t0

    t0 = time.perf_counter()
    run = services.outflow_run_compute(as_of=AS_OF, window_days=365, partitions=args.partitions)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    overall = run.stats.get(dimension="overall", key="all", cohort="all")
    print(f"rows            {run.input_rows:,}")
    print(f"partitions      {args.partitions}")
    print(f"end to end      {elapsed:.2f} s  ({run.input_rows / elapsed:,.0f} rows/s)")
    print(f"run timings     {run.timings}")
    print(f"peak RSS        {peak_mb:,.0f} MB")
    print(f"engine warm-up  {warmup:.2f} s (numba cache load or first compile; not in the figure above)")
    print(f"stat rows       {run.stats.count():,}")
    print(f"non-return      {overall.non_return_share} (matured {overall.outbound_value_byn} BYN)")
    print(f"excess return   {run.excess_return_byn} BYN")

    reference = args.reference if args.reference is not None else args.rows <= 1_000_000
    if not reference:
        return
    from outflows.engine import epoch_us
    from tests.outflows.reference import reference_compute

    rows = _transfers_for_reference()
    t0 = time.perf_counter()
    expected = reference_compute(rows, as_of_us=epoch_us(AS_OF), window_days=365)
    ref_s = time.perf_counter() - t0
    del rows
    stored = {
        (s.dimension, s.key, s.cohort): [
            int(v * 100)
            for v in (s.outbound_value_byn, s.returned_value_byn, s.pending_outbound_value_byn,
                      s.pending_returned_value_byn)
        ] + [s.outbound_count] + [
            int(v * 100) for v in (s.returned_30d_byn, s.returned_90d_byn, s.returned_180d_byn, s.returned_365d_byn)
        ]
        for s in run.stats.all()
    }  # fmt: skip
    # reference metrics: outbound, returned, pending out, pending returned, count, pending count, curve x4
    want = {k: m[:5] + m[6:] for k, m in expected["cells"].items()}
    equal = stored == want and int(run.excess_return_byn * 100) == expected["excess"]
    print(f"reference loop  {ref_s:.2f} s (compute only, from Python objects)")
    print(f"speed-up        {ref_s / elapsed:.1f}x end to end vs the reference's compute alone")
    compute_s = run.timings["compute_s"]
    print(f"                {ref_s / compute_s:.1f}x compute phase ({compute_s:.2f} s) vs the reference")
    print(f"equal to the kopeck: {equal}")
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
