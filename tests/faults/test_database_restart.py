"""Faults on purpose: PostgreSQL is stopped and started again under a running portal.

During the outage pages and the API answer 503 (no 500, no trace); once it is back the
very same process serves again, without a restart (persistent connections with health checks).
"""

import os
import subprocess

import pytest
from django.urls import reverse

from api.services import api_token_create
from tests.factories import OperatorFactory, auditor

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
