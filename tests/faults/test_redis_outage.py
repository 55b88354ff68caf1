"""Faults on purpose: the test command's Redis is stopped under a running portal, then started again;
and PostgreSQL is stopped while a debounced outflow recompute is due.

During the Redis outage the API answers 503 with Retry-After and its JSON error body (its
throttle counts in Redis), never a 500; a page upload still answers with the filing's page
and the filing stays `received`; once Redis is back the sweeper sends it and the worker
imports it. A recompute that meets a PostgreSQL outage is retried with backoff.
"""

import os
import subprocess
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.urls import reverse

from api.services import api_token_create
from filings.tasks import requeue_stuck_filings
from operators.models import FilingStatus, RegistrationFiling
from outflows.models import OutflowRun
from outflows.tasks import compute_outflows_task
from tests.conftest import wait_for
from tests.factories import OperatorFactory, operator_staff
from tests.faults.conftest import worker_consumes
from tests.faults.test_database_restart import _pg_ctl
from tests.filings.intake_helpers import SAMPLES

pytestmark = [pytest.mark.faults, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def _redis_cli(port: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True, text=True, timeout=20)


@pytest.fixture
def redis_down(session_worker_consumes_afterwards):
    """Stop the test command's Redis (cache and broker); start it again as scripts/services.sh does.
    Afterwards the session's worker must consume again by itself (tests/faults/conftest.py)."""
    port = os.environ["REDIS_URL"].rsplit(":", 1)[1].split("/")[0]
    directory = _redis_cli(port, "config", "get", "dir").stdout.split()[1]
    state = {"down": False}

    def up() -> None:
        if not state["down"]:
            return
        subprocess.run(
            [
                "redis-server",
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--dir",
                directory,
                "--daemonize",
                "yes",
                "--logfile",
                f"{directory}/redis.log",
                "--appendonly",
                "yes",
                "--maxmemory-policy",
                "noeviction",
                "--save",
                "",
            ],
            check=True,
        )
        wait_for(lambda: _redis_cli(port, "ping").stdout.strip() == "PONG", timeout=30, interval=0.2)
        state["down"] = False

    _redis_cli(port, "shutdown")
    wait_for(lambda: _redis_cli(port, "ping").returncode != 0, timeout=20, interval=0.1)
    state["down"] = True
    yield up
    up()


def test_redis_outage_api_503_upload_kept_and_imported_once_redis_is_back(
    client, celery_worker_process, redis_down, settings
):
    operator = OperatorFactory()
    staff = operator_staff(operator)
    key = api_token_create(name="NB", scopes=["operators", "filings"]).key
    # Operator staff's own token: the one caller allowed to file (an agency's would be a 403 before any throttle).
    staff_key = api_token_create(name="staff", scopes=["operators", "filings"], user=staff, operator=operator).key
    sample = (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()
    client.force_login(staff)
    client.raise_request_exception = False  # answer as the server would

    # redis_down has stopped Redis: the API cannot count its throttle, so it answers 503.
    api = client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}")
    assert api.status_code == 503
    assert api["Retry-After"] == "5"
    assert api.json()["code"] == "service_unavailable"
    assert b"Traceback" not in api.content
    posted = client.post(
        "/api/v1/filings/",
        {"kind": "transfer_register", "period_start": "2025-03-01", "period_end": "2025-03-31", "file": sample},
        HTTP_AUTHORIZATION=f"Token {staff_key}",
    )
    assert posted.status_code == 503
    assert not RegistrationFiling.objects.exists()  # refused before anything was stored

    # A page upload: the filing is committed, its message cannot be sent; the filing's page all the same.
    page = client.post(
        "/filings/",
        {
            "operator": operator.pk,
            "kind": "transfer_register",
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "action": "submit",
            "file": SimpleUploadedFile("f.csv", sample),
        },
    )
    filing = RegistrationFiling.objects.get()
    assert page.status_code == 302
    assert page["Location"] == reverse("filings:detail", args=[filing.pk])
    assert client.get(page["Location"]).status_code == 200
    assert filing.status == FilingStatus.RECEIVED

    redis_down()  # Redis is back; the worker reconnects by itself ...
    assert worker_consumes(celery_worker_process), "the worker did not consume again after Redis came back"
    assert client.get("/api/v1/operators/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    settings.WORK_RESEND_AFTER_SECONDS = 0  # beat's sweeper would send it within a minute or two
    assert requeue_stuck_filings() == 1
    wait_for(lambda: RegistrationFiling.objects.get(pk=filing.pk).status == FilingStatus.ACCEPTED, timeout=120)
    filing.refresh_from_db()
    assert filing.rows_imported == 5


def test_debounced_recompute_during_a_database_outage_is_retried_until_it_is_back(celery_worker_process):
    log = celery_worker_process["log"]
    offset = len(log.read_text())
    _pg_ctl("stop", "-m", "fast")
    try:
        compute_outflows_task.apply_async()  # as schedule_outflow_recompute sends it, a minute later
        wait_for(lambda: "retry: Retry in" in log.read_text()[offset:], timeout=60)
        time.sleep(2)
    finally:
        _pg_ctl("start", "-l", os.environ.get("PORTAL_PG_LOG", "/dev/null"))
    connections.close_all()
    wait_for(lambda: OutflowRun.objects.filter(status="finished").exists(), timeout=120, interval=0.5)
    assert "OperationalError" in log.read_text()[offset:]
