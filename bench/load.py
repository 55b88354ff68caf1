"""Mixed load on loopback for a bounded time: browser page views, API pulls and uploads at once.

Not a test: it builds its own database `bench_load` (dropped and re-created), fills it with
`generate_demo_data`, starts gunicorn (2 sync workers, production settings) and a real Celery
worker, then runs THREADS client threads for DURATION seconds against 127.0.0.1 only:
  60 % page views as an auditor (dashboard, queue, dossier, flags),
  30 % API pulls with an agency token (transfers page, outflow stats),
  10 % uploads of a small transfer register by operator staff (API POST, processed by the worker).
It prints requests, 5xx and p50/p99 per kind, and checks that every uploaded filing ends
`accepted` (no lost filing).

    DATABASE_URL=postgres://portal@127.0.0.1:55432/portal .venv/bin/python bench/load.py [--duration 120]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages import
PORT = 18777
DB_NAME = "bench_load"


def _database_url(name: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL", "postgres://portal@127.0.0.1:55432/portal"))
    return urlunsplit(base._replace(path=f"/{name}"))


def _recreate_database(name: str) -> None:
    import psycopg

    admin = urlsplit(_database_url("postgres"))
    with psycopg.connect(urlunsplit(admin._replace(scheme="postgresql")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _request(url: str, *, headers: dict, data: bytes | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 599  # connection failure counts as a server error
    return status, (time.perf_counter() - started) * 1000


def _register(serial: str) -> bytes:
    header = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
    rows = [
        f"L{serial}-{n},2025-03-{n % 28 + 1:02d}T10:00:00Z,OUT,invload{n},binance,AE,USDT,1,{n + 1}.00\n"
        for n in range(20)
    ]
    return (header + "".join(rows)).encode()


def _multipart(fields: dict, file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
        f"Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transfers", type=int, default=20000)
    args = parser.parse_args()

    _recreate_database(DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(DB_NAME),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "OTP_REQUIRED_FOR_SCC": "0",  # the load client has no authenticator app
        "API_THROTTLE_RATE": "100000000/min",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:56379/14"),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:56379/15"),
        "MEDIA_ROOT": "/tmp/bench-load-media",
        "STATIC_ROOT": "/tmp/bench-load-static",
        "LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    t = time.monotonic()
    subprocess.run(
        [*manage, "generate_demo_data", "--transfers", str(args.transfers)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    print(f"demo data ({args.transfers} transfers) in {time.monotonic() - t:.0f} s", flush=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from api.services import api_token_create
    from audits.models import Flag
    from operators.models import RegistrationFiling

    agency = api_token_create(name="load", scopes=["operators", "filings", "flags", "outflows", "transfers"]).key
    staff = User.objects.get(username="operator")
    operator = staff.memberships.get().operator
    operator_key = api_token_create(name="load-op", scopes=["filings"], user=staff, operator=operator).key
    auditor = User.objects.get(username="auditor")
    session = SessionStore()
    session["_auth_user_id"] = str(auditor.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = auditor.get_session_auth_hash()
    session.create()
    flag_id = Flag.objects.values_list("id", flat=True).first()
    dossier_id = Flag.objects.values_list("operator_id", flat=True).first()
    filings_before = RegistrationFiling.objects.count()

    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi:application",
            "--workers=2",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{PORT}"
    cookie = {"Cookie": f"sessionid={session.session_key}"}
    pages = ["/dashboard/", "/queue/", f"/operators/{dossier_id}/", "/audits/flags/", f"/audits/flags/{flag_id}/"]
    pulls = ["/api/v1/transfers/?page_size=100", "/api/v1/outflows/stats/?dimension=operator"]
    results: dict[str, list[tuple[int, float]]] = {"page": [], "api": [], "upload": []}
    uploaded: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration

    def client(seed: int) -> None:
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            roll = rng.random()
            if roll < 0.6:
                kind, outcome = "page", _request(base + rng.choice(pages), headers=cookie)
            elif roll < 0.9:
                kind, outcome = "api", _request(base + rng.choice(pulls), headers={"Authorization": f"Token {agency}"})
            else:
                serial = f"{seed}-{n}"
                body, content_type = _multipart(
                    {"kind": "transfer_register", "period_start": "2025-03-01", "period_end": "2025-03-31"},
                    f"load-{serial}.csv",
                    _register(serial),
                )
                kind = "upload"
                outcome = _request(
                    base + "/api/v1/filings/",
                    data=body,
                    headers={"Authorization": f"Token {operator_key}", "Content-Type": content_type},
                )
                if outcome[0] == 202:
                    with lock:
                        uploaded.append(serial)
            with lock:
                results[kind].append(outcome)

    try:
        time.sleep(3)
        _request(base + "/healthz", headers={})
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # No lost filing: every accepted upload reaches a final status.
        settle = time.monotonic() + 120
        while time.monotonic() < settle:
            pending = RegistrationFiling.objects.filter(status__in=["received", "processing"]).count()
            if pending == 0:
                break
            time.sleep(1)
    finally:
        for proc in (web, worker):
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)

    print(f"{args.threads} threads, {args.duration} s, loopback, gunicorn 2 sync workers + 1 Celery worker")
    for kind, rows in results.items():
        latencies = sorted(ms for _, ms in rows)
        errors = sum(1 for status, _ in rows if status >= 500)
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
        median = statistics.median(latencies) if latencies else 0
        print(f"{kind:7s} {len(rows):6d} requests  5xx {errors:3d}  p50 {median:7.1f} ms  p99 {p99:7.1f} ms")
    filings = RegistrationFiling.objects.count() - filings_before
    final = RegistrationFiling.objects.filter(status__in=["accepted", "superseded", "rejected"]).count()
    stuck = RegistrationFiling.objects.filter(status__in=["received", "processing"]).count()
    print(
        f"uploads answered 202: {len(uploaded)}; new filings stored: {filings}; still unprocessed: {stuck}; "
        f"final in all: {final}"
    )


if __name__ == "__main__":
    main()
