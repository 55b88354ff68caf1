"""The bulk feed's throughput against a bare COPY of the same rows, in one run (issue 19 item 4).

    .venv/bin/python bench/feeds.py --rows 10000000

Loads N synthetic transfers (bench/outflows.py's generator, `--loader sql`) into a database of
its own (default `bench_feeds`, loaded once, not timed), then times, alternating, each in a fresh
process (its own peak RSS):

* `bare`: `COPY (<the feed's own SELECT>) TO STDOUT (FORMAT csv)` read to the end with psycopg,
  the floor: the same SQL, the same rows, no HTTP;
* `csv`: `GET /api/v1/exports/transfers` through the whole Django stack (middleware, token,
  scope, throttle, audit event) in-process, the streamed body read to the end;
* `parquet`: the same with `format=parquet`.

Prints every run, the medians, throughput (MB/s of CSV, rows/s) and the ratio of each feed's
throughput to the bare COPY's. Target: csv at least 0.5 of bare; peak RSS bounded (the feed
holds a 1 MiB chunk, Parquet an 8 MiB block and its row group, never the selection).
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.outflows import _ensure_database, _setup_django  # noqa: E402

VARIANTS = ("bare", "csv", "parquet")


def _rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _feed_sql() -> tuple[str, list]:
    """The SELECT the transfers feed runs for an agency with no filter (api.feeds.feed_rows)."""
    from api.feeds import feed_for, feed_rows, feed_watermark
    from api.querysets import transfers_with_codes
    from api.serializers import TransferSerializer

    feed = feed_for(name="transfers", serializer_class=TransferSerializer)
    rows = feed_rows(feed=feed, queryset=transfers_with_codes(), until=feed_watermark(), after_id=None)
    return rows.query.sql_with_params()


def child(database: str, variant: str) -> None:
    _setup_django(database)
    from django.db import connection
    from django.test import Client

    from api.services import api_token_create

    base_rss = _rss_mb()
    if variant == "bare":
        sql, params = _feed_sql()
        t0 = time.perf_counter()
        size = rows = 0
        raw = connection.cursor().connection  # the psycopg connection, as api.feeds uses it
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for data in copy:
                size += len(data)
                rows += 1
        elapsed = time.perf_counter() - t0
    else:
        key = api_token_create(name="bench feeds", scopes=["transfers"]).key
        client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="127.0.0.1")
        query = "?format=parquet" if variant == "parquet" else ""
        t0 = time.perf_counter()
        response = client.get(f"/api/v1/exports/transfers{query}")
        assert response.status_code == 200, response.status_code
        size = 0
        for chunk in response.streaming_content:
            size += len(chunk)
        elapsed = time.perf_counter() - t0
        from auditlog.models import AuditEvent

        rows = AuditEvent.objects.filter(action="api.export.transfers").latest("id").details["rows"]
    print(json.dumps({"variant": variant, "s": round(elapsed, 3), "bytes": size, "rows": rows,
                      "base_rss_mb": base_rss, "peak_rss_mb": _rss_mb()}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_feeds")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.database, args.child)
        return
    _ensure_database(args.database)
    _setup_django(args.database)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM outflows_crossbordertransfer")
        present = cursor.fetchone()[0]
    connection.close()
    if present != args.rows:
        print(f"loading {args.rows:,} transfers into {args.database} (not timed) ...", flush=True)
        loader = [sys.executable, str(ROOT / "bench" / "outflows.py"), "--rows", str(args.rows)]
        loader += ["--database", args.database, "--load-only", "--loader", "sql"]
        subprocess.run(loader, check=True)
    results = []
    for i in range(args.runs):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--database", args.database, "--child", variant],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results.append(result)
            print(f"run {i + 1} {json.dumps(result)}", flush=True)
    median = {v: statistics.median(r["s"] for r in results if r["variant"] == v) for v in VARIANTS}
    rows = results[0]["rows"]
    csv_bytes = next(r["bytes"] for r in results if r["variant"] == "bare")
    print(f"\n{rows:,} rows, {csv_bytes / 1e6:,.0f} MB of CSV; median of {args.runs} runs each, alternating")
    print(f"{'variant':8s} {'seconds':>8s} {'MB/s (CSV)':>11s} {'rows/s':>11s} {'vs bare':>8s} {'peak RSS':>9s}")
    for v in VARIANTS:
        peak = max(r["peak_rss_mb"] for r in results if r["variant"] == v)
        ratio = median["bare"] / median[v]
        line = f"{v:8s} {median[v]:8.2f} {csv_bytes / 1e6 / median[v]:11.1f} {rows / median[v]:11,.0f}"
        print(f"{line} {ratio:8.2f} {peak:6d} MB")
    if any(r["rows"] != rows for r in results):
        print("row counts differ between runs")
        sys.exit(1)


if __name__ == "__main__":
    main()
