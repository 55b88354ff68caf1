"""Faults on purpose: PostgreSQL is stopped and started again under a running portal.

During the outage pages and the API answer 503 (no 500, no trace); once it is back the
very same process serves again, without a restart (persistent connections with health checks).
First with the test client, request by request; then under load, on a real gunicorn.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse

from api.services import api_token_create
from tests.conftest import ROOT
from tests.factories import OperatorFactory, auditor, operator_staff

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


def _pg_ctl(*args: str) -> None:
    data, binaries = os.environ.get("PORTAL_PG_DATA"), os.environ.get("PORTAL_PG_BIN")
    if not data or not binaries:
        pytest.fail("PORTAL_PG_DATA/PORTAL_PG_BIN are not set: use the README's test command (scripts/test.sh).")
    command = [f"{binaries}/pg_ctl", "-D", data, "-w", "-t", "60", *args]
    if os.geteuid() == 0:  # PostgreSQL runs as the postgres user when the suite runs as root
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True)


def test_pages_and_api_answer_503_during_a_restart_and_recover_without_restarting(client):
    OperatorFactory()
    key = api_token_create(name="NB", scopes=["operators"]).key
    client.force_login(auditor())
    client.raise_request_exception = False
    assert client.get(reverse("operators:list")).status_code == 200
    assert client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    _pg_ctl("stop", "-m", "fast")
    try:
        page = client.get(reverse("operators:list"))
        api = client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}")
    finally:
        log = os.environ.get("PORTAL_PG_LOG", "/dev/null")
        _pg_ctl("start", "-l", log)
    assert page.status_code == 503
    assert b"Traceback" not in page.content
    assert api.status_code == 503
    assert api.json()["code"] == "service_unavailable"

    # Back up: the same process answers again, on fresh connections.
    assert client.get(reverse("operators:list")).status_code == 200
    assert client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


# --- Under load: a real gunicorn, client threads, PostgreSQL restarted under them -----------------

LOAD_THREADS = 8
# Text that would reveal the failure's internals; a 503 body must contain none of it.
LEAKS = ("traceback", "psycopg", "operationalerror", "sql", "connection to server", "fatal")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@dataclass
class Answer:
    kind: str  # "api" or "page"
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all (refused, reset, timed out)
    body: bytes
    retry_after: str | None


def _get(port: int, kind: str, path: str, headers: dict) -> Answer:
    started = time.monotonic()
    # A new connection per request, and no redirect following: a 302 to the login page is a failure.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        status, body, retry_after = response.status, response.read(), response.getheader("Retry-After")
    except OSError as exc:  # includes timeouts and http.client's RemoteDisconnected
        status, body, retry_after = 0, repr(exc).encode(), None
    finally:
        conn.close()
    return Answer(kind, started, time.monotonic(), status, body, retry_after)


@pytest.fixture
def gunicorn(tmp_path, settings):
    """The portal under gunicorn (2 sync workers, as in production and bench/), on the test database.

    Production settings (DEBUG off, manifest static files, persistent connections with health
    checks); the same SECRET_KEY as this process so that its session cookie is valid there.
    """
    db = settings.DATABASES["default"]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "API_THROTTLE_RATE": "1000000/min",  # the load, not the throttle, is under test
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi:application",
                "--workers=2",
                "--worker-class=sync",
                f"--bind=127.0.0.1:{port}",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: teardown stops master and workers together
        )
    try:
        yield {"process": proc, "port": port, "log": log}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_under_load_on_gunicorn_503_during_a_restart_then_served_by_the_same_processes(gunicorn, client):
    staff = operator_staff(OperatorFactory())
    key = api_token_create(name="NB", scopes=["operators"]).key
    client.force_login(staff)  # a session row in the test database, which gunicorn reads
    targets = [
        ("api", "/api/v1/operators/", {"Authorization": f"Token {key}"}),
        ("page", "/filings/", {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}),
    ]
    port, master = gunicorn["port"], gunicorn["process"]

    def log() -> str:
        return gunicorn["log"].read_text()[-5000:]

    deadline = time.monotonic() + 30
    while not all(_get(port, *target).status == 200 for target in targets):
        assert master.poll() is None, f"gunicorn exited:\n{log()}"
        assert time.monotonic() < deadline, f"gunicorn did not serve within 30 s:\n{log()}"
        time.sleep(0.3)
    workers = _children(master.pid)
    assert len(workers) == 2

    answers: list[Answer] = []
    stop = threading.Event()

    def load(n: int) -> None:
        i = n
        while not stop.is_set():
            answers.append(_get(port, *targets[i % 2]))  # list.append is atomic under the GIL
            i += 1

    threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(LOAD_THREADS)]
    for thread in threads:
        thread.start()
    stopped = False
    try:
        time.sleep(3)  # the load running against a healthy database
        t_stop = time.monotonic()
        _pg_ctl("stop", "-m", "fast")
        stopped = True
        t_down = time.monotonic()
        time.sleep(3)
        t_start = time.monotonic()
        _pg_ctl("start", "-l", os.environ.get("PORTAL_PG_LOG", "/dev/null"))
        stopped = False
        t_up = time.monotonic()
        # Keep the load on until 2 s of nothing but 200s, for at most 15 s after PostgreSQL is back.
        while time.monotonic() < t_up + 15:
            time.sleep(0.5)
            now = time.monotonic()
            recent = [a for a in list(answers) if a.started >= max(t_up, now - 2)]
            if now >= t_up + 2 and recent and all(a.status == 200 for a in recent):
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=40)
        if stopped:  # the rest of the suite needs its database
            _pg_ctl("start", "-l", os.environ.get("PORTAL_PG_LOG", "/dev/null"))
        connections.close_all()  # this process's own connection died with the restart: the teardown opens a new one

    before = [a for a in answers if a.ended < t_stop]
    outage = [a for a in answers if a.started >= t_down and a.ended <= t_start]
    bad = [a for a in answers if a.status != 200]
    recovered = max((a.ended for a in bad), default=t_up)
    after = [a for a in answers if a.started > recovered]
    counts = Counter((a.kind, a.status) for a in answers)

    def p99(status: int) -> float:
        latencies = sorted(a.ended - a.started for a in answers if a.status == status)
        return latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000 if latencies else 0

    print(
        f"\n{LOAD_THREADS} threads, {len(answers)} requests: {dict(sorted(counts.items()))}"
        f"\nbefore the stop: {len(before)}, all 200; PostgreSQL down {t_start - t_down:.1f} s: {len(outage)}"
        f" requests, {sum(a.status == 503 for a in outage)} answered 503"
        f"\nserved again {max(recovered - t_up, 0):.2f} s after PostgreSQL was back;"
        f" {len(after)} requests after that, all 200"
        f"\np99 latency: 200 {p99(200):.0f} ms, 503 {p99(503):.0f} ms"
    )

    # No socket error at all: the web process never goes away, and a database that is down
    # answers (or refuses) at once, so nothing waits long enough for a timeout.
    assert not [a.body for a in answers if a.status == 0]
    assert {a.status for a in answers} <= {200, 503}, counts  # never a 500, nor anything else
    assert before
    assert all(a.status == 200 for a in before)
    assert outage
    assert all(a.status == 503 for a in outage)  # every request of the outage touches the database
    assert {a.kind for a in outage} == {"api", "page"}
    for answer in (a for a in answers if a.status == 503):
        assert answer.retry_after == "5"
        assert not any(leak in answer.body.decode().lower() for leak in LEAKS), answer.body
        if answer.kind == "api":
            assert json.loads(answer.body)["code"] == "service_unavailable"
    # Served again within 15 s, by the very same master and workers: nothing was restarted.
    assert recovered - t_up <= 15
    assert len(after) >= 2 * LOAD_THREADS
    assert {a.kind for a in after} == {"api", "page"}
    assert master.poll() is None
    assert _children(master.pid) == workers
