"""Drill-down of a stat cell to its transfers vs a whole outflow run, at national scale, in one run (issue 17 item 1).

    DATABASE_URL=postgres://portal@127.0.0.1:55432/portal flock /work/helpers/bench.lock \
        .venv/bin/python bench/drilldown.py [--rows 10000000] [--reload]

Uses a database of its own, `bench_drilldown` (re-created with --reload or when its row count
differs; never the portal's), with the world and the transfers of bench/pages.py (20 operators, 60
platforms, the distribution of bench/outflows.py, written month by month, operator by operator, as
registers arrive; secondary indexes built after the load). Then, in this process:

1. one whole run (`outflow_run_compute`, as_of 2026-01-01, W = 365 days), timed end to end;
2. the drill-down page of cells of that run (overall; the largest and the smallest key of every
   dimension the run stores; a matured and a pending cohort; an operator's cohort; the matured and
   the pending half), each through Django's test client (the whole request: middleware, view,
   queries, the engine on the pairs of the page, template), first request and the median of five,
   and one page of the API;
3. what persisting the per-transfer allocation with each run would cost instead: reading the ids
   the COPY reader leaves out, writing one (run, transfer, returned) row per outbound by binary
   COPY, its index, its size on disk; and a drill-down page read from such a table.

Prints both sides and the ratio (drill-down / run, target <= 1/3).
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pages  # noqa: E402 - bench/pages.py: the world and the register-ordered load

DB_NAME = "bench_drilldown"
AS_OF = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RUNS = 5


def _setup_django() -> None:
    os.environ.update(
        DATABASE_URL=pages._database_url(DB_NAME),
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY="bench-only-not-a-secret-" + "x" * 40,
        ALLOWED_HOSTS="testserver,127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        OTP_REQUIRED_FOR_SCC="0",
        LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)  # local-memory cache and lock: the bench shares nothing
    import django
    from django.conf import settings

    django.setup()
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}
    pages._Router.alias = "default"


def _present() -> int:
    import psycopg

    try:
        with psycopg.connect(pages._database_url(DB_NAME).replace("postgres://", "postgresql://")) as conn:
            return conn.execute(f"SELECT count(*) FROM {pages.TABLE}").fetchone()[0]
    except psycopg.Error:
        return -1


def _world_read() -> dict:
    from django.contrib.auth.models import User

    from operators.models import ForeignPlatform, Operator

    return {
        "operators": list(Operator.objects.order_by("pk")),
        "platforms": list(ForeignPlatform.objects.order_by("pk")),
        "user": User.objects.get(username="bench-auditor"),
    }


def _timed(function, runs: int = RUNS) -> tuple[float, float]:
    """(first call, median of `runs` more), seconds."""
    started = time.perf_counter()
    function()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return first, statistics.median(times)


def _cells(run) -> dict[str, dict]:
    """The cells drilled: overall, the largest key of each dimension, a matured and a pending cohort."""
    from django.db.models import F

    from outflows.models import OutflowStat

    chosen = {"overall, all cohorts": {"dimension": "overall", "key": "all", "cohort": "all"}}
    stats = OutflowStat.objects.filter(run=run, cohort="all").exclude(dimension="overall")
    for dimension in sorted(set(stats.values_list("dimension", flat=True))):
        top = stats.filter(dimension=dimension).order_by(F("outbound_value_byn").desc(), "key").first()
        chosen[f"{dimension} (largest), all cohorts"] = {"dimension": dimension, "key": top.key, "cohort": "all"}
        least = stats.filter(dimension=dimension).order_by("outbound_count", "outbound_value_byn", "key").first()
        if least.key != top.key:  # a small cell: its few rows are looked for among all the others
            chosen[f"{dimension} (smallest: {least.outbound_count:,} matured), all cohorts"] = {
                "dimension": dimension, "key": least.key, "cohort": "all",
            }  # fmt: skip
    cohorts = sorted(OutflowStat.objects.filter(run=run, dimension="overall").exclude(cohort="all")
                     .values_list("cohort", flat=True))  # fmt: skip
    operator = chosen.get("operator (largest), all cohorts", {}).get("key")
    chosen[f"overall, cohort {cohorts[5]} (matured)"] = {"dimension": "overall", "key": "all", "cohort": cohorts[5]}
    chosen[f"overall, cohort {cohorts[-3]} (pending)"] = {"dimension": "overall", "key": "all", "cohort": cohorts[-3]}
    if operator:
        chosen[f"operator, cohort {cohorts[8]}"] = {"dimension": "operator", "key": operator, "cohort": cohorts[8]}
    chosen["overall, matured only"] = {"dimension": "overall", "key": "all", "cohort": "all", "state": "matured"}
    chosen["overall, pending only"] = {"dimension": "overall", "key": "all", "cohort": "all", "state": "pending"}
    return chosen


def _tiny_platform() -> None:
    """A platform with 40 outbounds and returns (copies of rows spread over the table, their investors'
    other rows elsewhere): the sparse cell a page must not look for among all the others."""
    from django.db import connection

    from operators.models import ForeignPlatform

    platform, created = ForeignPlatform.objects.get_or_create(
        slug="bench-tiny", defaults={"name": "Tiny", "country": "MT"}
    )
    if created:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {pages.TABLE} (operator_id, filing_id, external_id, occurred_at, direction, investor_ref,"
                " platform_id, asset, amount, value_byn, updated_at) SELECT operator_id, filing_id, 'tiny-' || id,"
                " occurred_at, direction, investor_ref, %s, asset, amount, value_byn, updated_at"
                f" FROM {pages.TABLE} WHERE id %% 250000 = 0",
                [platform.pk],
            )


def _persisted(run, as_of) -> dict:
    """What storing each outbound's allocation with the run would cost: read the ids the run does not read,
    write one (run, transfer, returned) row per outbound by binary COPY, index it; its size; a page from it."""
    import numpy as np
    from django.db import connection

    figures = {}
    with connection.cursor() as cursor:
        pg = cursor.cursor
        # 1. The run's COPY reads no id: the same COPY with the id beside, and without, timed alike.
        base = (
            "COPY (SELECT investor_ref, occurred_at, value_byn, (platform_id << 32) | (operator_id << 1) "
            "| (direction = 'IN')::int{} FROM outflows_crossbordertransfer WHERE occurred_at <= %s) "
            "TO STDOUT (FORMAT BINARY)"
        )
        for label, extra in (("copy_without_id_s", ""), ("copy_with_id_s", ", id")):
            started = time.perf_counter()
            with pg.copy(base.format(extra), [as_of]) as copy:
                for _ in copy:
                    pass
            figures[label] = time.perf_counter() - started
        cursor.execute(
            "SELECT array_agg(id) FROM outflows_crossbordertransfer WHERE direction = 'OUT' AND occurred_at <= %s",
            [as_of],
        )
        ids = np.asarray(cursor.fetchone()[0], dtype=np.int64)
        returned = np.random.default_rng(1).integers(0, 10**6, len(ids))
        # 2. One row per outbound, binary COPY (built by numpy: no Python per row), then its index.
        cursor.execute("DROP TABLE IF EXISTS bench_allocation")
        cursor.execute("CREATE TABLE bench_allocation (run_id integer, transfer_id bigint, returned bigint)")
        row = np.dtype([("n", ">i2"), ("l1", ">i4"), ("run", ">i4"), ("l2", ">i4"), ("id", ">i8"), ("l3", ">i4"),
                        ("ret", ">i8")])  # fmt: skip
        data = np.empty(len(ids), row)
        data["n"], data["l1"], data["run"], data["l2"], data["id"], data["l3"], data["ret"] = (
            3,
            4,
            run.pk,
            8,
            ids,
            8,
            returned,
        )
        payload = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + data.tobytes() + b"\xff\xff"
        started = time.perf_counter()
        with pg.copy("COPY bench_allocation FROM STDIN (FORMAT BINARY)") as copy:
            for lo in range(0, len(payload), 1 << 20):
                copy.write(payload[lo : lo + (1 << 20)])
        figures["write_s"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("CREATE UNIQUE INDEX bench_allocation_key ON bench_allocation (run_id, transfer_id)")
        figures["index_s"] = time.perf_counter() - started
        cursor.execute("SELECT pg_total_relation_size('bench_allocation')")
        figures["size_mb"] = cursor.fetchone()[0] / 2**20
        figures["outbounds"] = len(ids)
        cursor.execute("ANALYZE bench_allocation")

        def page():
            cursor.execute(
                "SELECT t.id, t.occurred_at, t.value_byn, a.returned FROM outflows_crossbordertransfer t "
                "JOIN bench_allocation a ON a.run_id = %s AND a.transfer_id = t.id "
                "WHERE t.direction = 'OUT' AND t.occurred_at <= %s ORDER BY t.occurred_at, t.id LIMIT 101",
                [run.pk, as_of],
            )
            cursor.fetchall()

        figures["page_first_s"], figures["page_s"] = _timed(page)
        cursor.execute("DROP TABLE bench_allocation")
    return figures


def _measure(world: dict, *, rows: int) -> None:
    from django.test import Client

    from outflows import drilldown, services
    from outflows.drill_views import drilldown_url

    _tiny_platform()
    print("warming up the compiled engine and reader (not timed) ...", flush=True)
    services.outflow_compute(as_of=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    services.warm_up()
    started = time.perf_counter()
    run = services.outflow_run_compute(as_of=AS_OF, window_days=365)
    run_s = time.perf_counter() - started
    print(f"whole run           {run_s:6.2f} s  ({run.input_rows:,} transfers; timings {run.timings})", flush=True)
    client = Client()
    client.force_login(world["user"])
    results = {}
    for name, cell in _cells(run).items():
        url = drilldown_url(run=run, **cell)

        def get(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        first, median = _timed(get)
        results[name] = (first, median)
        print(f"drill-down page     {median:6.3f} s  (first {first:.3f} s)  {name}", flush=True)
    api = Client()
    api.force_login(world["user"])
    for name, params in (("overall", {}), ("the tiny platform", {"dimension": "platform", "key": "bench-tiny"})):
        first, median = _timed(lambda p=params: api.get("/api/v1/outflows/drilldown/", {"run": run.pk, **p}))
        print(f"drill-down API      {median:6.3f} s  (first {first:.3f} s)  {name}, a page of 100", flush=True)
    started = time.perf_counter()
    drilldown.inputs_fingerprint(run)
    changed_s = time.perf_counter() - started
    print(f"inputs fingerprint  {changed_s:6.2f} s  (paid once per change of the table after a run, cached)")
    persisted = _persisted(run, AS_OF)
    worst = max(median for _, median in results.values())
    worst_first = max(first for first, _ in results.values())
    print()
    print(f"rows                         {rows:,}")
    print(f"whole run                    {run_s:.2f} s")
    print(f"drill-down, slowest cell     {worst:.3f} s median, {worst_first:.3f} s first request")
    print(
        f"ratio drill-down / run       {worst / run_s:.3f} (median), {worst_first / run_s:.3f} (first)  target <= 0.333"
    )
    extra_read = persisted["copy_with_id_s"] - persisted["copy_without_id_s"]
    stored = extra_read + persisted["write_s"] + persisted["index_s"]
    print("persisted instead (measured here, same data):")
    print(
        f"  run's COPY without / with ids  {persisted['copy_without_id_s']:.2f} s / {persisted['copy_with_id_s']:.2f} s"
    )
    p = persisted
    print(f"  write {p['outbounds']:,} allocations {p['write_s']:.2f} s + {p['index_s']:.2f} s, {p['size_mb']:.0f} MB")
    print(f"  added to every run            {stored:.2f} s ({stored / run_s:.0%} of the run)")
    print(f"  page read from it             {p['page_s'] * 1000:.1f} ms (first {p['page_first_s'] * 1000:.1f} ms)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    global DB_NAME
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--database", default="bench_drilldown")
    args = parser.parse_args()
    if args.database == "portal":
        parser.error("use a database of its own for the benchmark")
    DB_NAME = args.database
    if args.reload or _present() != args.rows:
        pages._recreate_database(DB_NAME)
        _setup_django()
        world = pages._world("default")
        print(f"loading {args.rows:,} transfers into {DB_NAME} (not timed)", flush=True)
        pages._load(args.rows, total=args.rows, world=world, rebuild=args.rows > 1_000_000)
    else:
        _setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the tables as the code in this tree has them
    if args.load_only:
        return
    _measure(_world_read(), rows=args.rows)


if __name__ == "__main__":
    main()
