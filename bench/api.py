"""API under load: gunicorn (2 sync workers) on PostgreSQL, wrk on loopback.

    .venv/bin/python bench/api.py                     # 1,000,000 transfers, 30 s per target, 16 connections
    .venv/bin/python bench/api.py --rows 200000 --duration 10
    .venv/bin/python bench/api.py --skip-load         # reuse the loaded database

Uses its own database (default `bench_api`, created when missing, never the
portal's) on the server of DATABASE_URL and Redis DB 10 for the throttle
counters (REDIS_URL to change). Loads N synthetic transfers with COPY (not
timed), an outflow run with its stats, and an agency token with every scope.
Then starts gunicorn with 2 sync workers, persistent connections with health
checks (settings: CONN_MAX_AGE=60, CONN_HEALTH_CHECKS), DEBUG off, and runs
wrk (Debian package) against each target for --duration seconds:

* /api/v1/outflows/stats/ (the latest run's first page of 100 rows), and the same with a
  filter (?dimension=operator), which goes through the filterset;
* /api/v1/transfers/?page_size=100, first page and a deep cursor page (id > 90 %);
* the floor: a bare DRF cursor-paginated list of the same table with the same
  serializer and no authentication, permission, throttle or audit record, first
  and deep page — this module is also the URLconf that adds it (bench only).

Every /api/v1/transfers/ request is token lookup + scope check + a throttle
counter in Redis + one page query + one AuditEvent appended to the hash chain.
Prints requests/s, p50/p99 and the ratio of each transfers page to its floor.
"""

import argparse
import base64
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is first on sys.path and this file would shadow the `api` app.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "bench_api"
N_OPERATORS = 20
N_PLATFORMS = 60
COUNTRIES = ["CY", "SC", "VG", "KY", "AE", "SG", "HK", "MT", "EE", "LT"]
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SPAN_S = 2 * 365 * 86_400
PORT = 18_765
BARE_PORT = 18_766
TOKEN_FILE = ROOT / "var" / "bench_api_token"

# --- When gunicorn imports this module (DJANGO_SETTINGS_MODULE set, bench.api:application) ---------

urlpatterns: list = []


def _floor_urlpatterns() -> list:
    from django.urls import include, path
    from rest_framework.generics import ListAPIView
    from rest_framework.permissions import AllowAny

    from api.pagination import IdCursorPagination
    from api.querysets import transfers_for_api
    from api.serializers import TransferSerializer

    class FloorView(ListAPIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]
        throttle_classes: list = []
        filter_backends: list = []
        pagination_class = IdCursorPagination  # DRF's cursor pagination, by id, as the API's
        serializer_class = TransferSerializer
        queryset = transfers_for_api()  # the same rows and serializer as /api/v1/transfers/

    return [path("floor/transfers/", FloorView.as_view()), path("", include("config.urls"))]


def application_factory():
    import django
    from django.conf import settings

    django.setup(set_prefix=False)
    settings.ROOT_URLCONF = __name__  # before the first request: the floor view beside the portal
    globals()["urlpatterns"] = _floor_urlpatterns()
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


# --- The driver ---------------------------------------------------------------------------------


def _database_url(name: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal"))
    return urlunsplit(base._replace(path=f"/{name}"))


def _ensure_database(name: str) -> None:
    import psycopg

    admin = urlsplit(_database_url("postgres"))
    with psycopg.connect(urlunsplit(admin._replace(scheme="postgresql")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _valid_unps(n: int) -> list[str]:
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


def load(rows: int) -> None:
    """Replace the bench data by `rows` synthetic transfers (deterministic), an outflow run and a token."""
    import random
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection, transaction

    from api.models import ApiToken
    from api.services import api_token_create
    from auditlog.models import AuditEvent
    from operators.models import ForeignPlatform, Operator, RegistrationFiling
    from outflows.models import OutflowRun, OutflowStat

    call_command("migrate", verbosity=0)
    rng = random.Random(20250101)
    with connection.cursor() as cursor:
        # The audit log refuses DELETE by trigger; TRUNCATE is the bench's way to start clean.
        cursor.execute(
            "TRUNCATE outflows_crossbordertransfer, outflows_outflowstat, outflows_outflowrun, "
            "operators_registrationfiling, api_apitoken, audits_auditevent, audits_auditchainhead CASCADE"
        )
    if AuditEvent.objects.exists() or ApiToken.objects.exists():
        raise RuntimeError("bench database not emptied")
    operators = []
    for i, unp in enumerate(_valid_unps(N_OPERATORS)):
        op, _ = Operator.objects.get_or_create(
            unp=unp,
            defaults={
                "name": f"Bench operator {i}",
                "htp_certificate_no": f"HTP-{i}",
                "htp_certificate_valid_until": dt.date(2030, 1, 1),
                "activity": "exchange",
            },
        )
        operators.append(op)
    platforms = [
        ForeignPlatform.objects.get_or_create(
            slug=f"bench{i}", defaults={"name": f"Bench {i}", "country": COUNTRIES[i % len(COUNTRIES)]}
        )[0]
        for i in range(N_PLATFORMS)
    ]
    filings = [
        RegistrationFiling.objects.create(
            operator=op,
            kind="transfer_register",
            period_start=dt.date(2024, 1, 1),
            period_end=dt.date(2025, 12, 31),
            sha256=f"{op.pk:064d}",
            file="bench",
            status="accepted",
        )
        for op in operators
    ]
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC).isoformat()
    with transaction.atomic(), connection.cursor() as cursor:
        copy_sql = (
            "COPY outflows_crossbordertransfer (operator_id, filing_id, external_id, occurred_at, direction, "
            "investor_ref, platform_id, asset, amount, value_byn, updated_at) FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for n in range(rows):
                k = rng.randrange(N_OPERATORS)
                at = START + dt.timedelta(seconds=rng.randrange(SPAN_S))
                value = rng.randrange(100, 1_000_000)
                copy.write_row(
                    (
                        operators[k].pk,
                        filings[k].pk,
                        f"TX-{n:09d}",
                        at.isoformat(),
                        "OUT" if rng.random() < 0.6 else "IN",
                        f"inv{rng.randrange(rows // 10 + 1)}",
                        platforms[rng.randrange(N_PLATFORMS)].pk,
                        "USDT",
                        f"{value / 3:.6f}",
                        f"{value / 100:.2f}",
                        now,
                    )
                )
    cursor_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE outflows_crossbordertransfer")
    run = OutflowRun.objects.create(
        as_of=dt.datetime.now(dt.UTC), status="finished", finished_at=dt.datetime.now(dt.UTC), input_rows=rows
    )
    cohorts = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 13)] + ["all"]
    stats = []
    for dimension, keys in (
        ("overall", ["all"]),
        ("operator", [op.unp for op in operators]),
        ("platform", [p.slug for p in platforms]),
        ("country", COUNTRIES),
    ):
        for key in keys:
            for cohort in cohorts:
                stats.append(
                    OutflowStat(
                        run=run,
                        dimension=dimension,
                        key=key,
                        cohort=cohort,
                        outbound_value_byn=Decimal(1000),
                        returned_value_byn=Decimal(450),
                        unreturned_value_byn=Decimal(550),
                        non_return_share=Decimal("0.55"),
                        pending_outbound_value_byn=Decimal(0),
                        pending_returned_value_byn=Decimal(0),
                        outbound_count=10,
                    )
                )
    OutflowStat.objects.bulk_create(stats, batch_size=2000)
    issued = api_token_create(name="bench agency", scopes=["operators", "filings", "flags", "outflows", "transfers"])
    TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    TOKEN_FILE.write_text(issued.key)
    print(f"loaded {rows:,} transfers in {cursor_seconds:.1f} s; {len(stats)} stat rows; token issued", flush=True)


def _deep_cursor() -> str:
    from outflows.models import CrossBorderTransfer

    ids = CrossBorderTransfer.objects.order_by("id").values_list("id", flat=True)
    count = CrossBorderTransfer.objects.count()
    position = ids[int(count * 0.9)]
    # DRF's cursor: base64 of a query string; p = the last id seen.
    return base64.b64encode(urllib.parse.urlencode({"p": str(position)}).encode()).decode()


_WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, *, duration: int, connections: int, headers: dict) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: float(v) * _UNIT_MS[u] for p, v, u in _WRK_LATENCY.findall(out)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": latency.get("50"),
        "p99": latency.get("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",
    }


def _wait_up(url: str, headers: dict, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=30, help="seconds per target")
    parser.add_argument("--slices", type=int, default=3, help="round-robin passes over the targets")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--database", default=DB_NAME)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")

    _ensure_database(args.database)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(args.database),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:56379/10"),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        # The bench measures the cost of the throttle, not its refusals.
        "API_THROTTLE_RATE": "100000000/min",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    if not args.skip_load:
        load(args.rows)
    key = TOKEN_FILE.read_text().strip()
    deep = urllib.parse.quote(_deep_cursor())
    base = f"http://127.0.0.1:{PORT}"
    auth = {"Authorization": f"Token {key}"}
    bare = f"http://127.0.0.1:{BARE_PORT}/transfers/?page_size=100"
    targets = [
        ("stats", f"{base}/api/v1/outflows/stats/", auth),  # the target: the latest run, first page
        ("stats, dimension=operator", f"{base}/api/v1/outflows/stats/?dimension=operator", auth),
        ("transfers page 100, first", f"{base}/api/v1/transfers/?page_size=100", auth),
        ("transfers page 100, deep", f"{base}/api/v1/transfers/?page_size=100&cursor={deep}", auth),
        ("floor page 100, first", f"{base}/floor/transfers/?page_size=100", {}),
        ("floor page 100, deep", f"{base}/floor/transfers/?page_size=100&cursor={deep}", {}),
        ("bare DRF app, first", bare, {}),
        ("bare DRF app, deep", f"{bare}&cursor={deep}", {}),
    ]
    bare_env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}  # it configures itself
    servers = [
        _gunicorn("bench.api:application_factory()", PORT, env),
        # The issue's own reference set-up (bench/bare_drf.py): no portal code, DRF's ModelSerializer.
        _gunicorn("bench.bare_drf:application_factory()", BARE_PORT, bare_env),
    ]
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in targets}
    try:
        for _name, url, headers in targets:
            _wait_up(url, headers)
            wrk(url, duration=2, connections=args.connections, headers=headers)  # warm-up
        # Round robin in slices: every target sees the same spells of a noisy machine, so the
        # ratios compare like with like.
        for _ in range(args.slices):
            for name, url, headers in targets:
                duration = max(1, round(args.duration / args.slices))
                runs[name].append(wrk(url, duration=duration, connections=args.connections, headers=headers))
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    results = {}
    for name, slices in runs.items():
        results[name] = r = {
            "rps": statistics.fmean(s["rps"] for s in slices),  # slices of equal length
            "p50": statistics.median(s["p50"] for s in slices),
            "p99": max(s["p99"] for s in slices),  # the worst slice's
            "non2xx": sum(s["non2xx"] for s in slices),
            "socket_errors": "; ".join(s["socket_errors"] for s in slices if s["socket_errors"]),
        }
        print(
            f"{name:30s} {r['rps']:8.1f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
            f"  non-2xx {r['non2xx']} {r['socket_errors']}",
            flush=True,
        )
    for kind in ("first", "deep"):
        api, floor = results[f"transfers page 100, {kind}"], results[f"floor page 100, {kind}"]
        reference = results[f"bare DRF app, {kind}"]
        print(
            f"ratio to floor ({kind} page): {api['rps'] / floor['rps']:.2f}; "
            f"API / bare DRF app: {api['rps'] / reference['rps']:.2f}"
        )


def _gunicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    """2 sync workers, as the issue sets up (keep-alive is not a sync worker's: one request a connection)."""
    command = [str(Path(sys.executable).parent / "gunicorn"), app, "--workers=2", "--worker-class=sync"]
    command += [f"--bind=127.0.0.1:{port}", "--log-level=warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


if __name__ == "__main__":
    main()
