"""The API on the embedded default (SQLite, as `make run` starts it), in a process of its own.

Every other API test runs on PostgreSQL; this one catches what only SQLite's driver does
differently (timestamps come back as text, made aware by Django's converters).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.outflows.factories import random_transfers

ROOT = Path(__file__).resolve().parents[2]

PULL = """
import json
from django.test import Client
from api.services import api_token_create
from api.models import Scope
key = api_token_create(name="Embedded check", scopes=list(Scope.values)).key
client = Client(HTTP_AUTHORIZATION=f"Token {key}", SERVER_NAME="127.0.0.1")
answers = {}
for path in ("/api/v1/transfers/?page_size=5", "/api/v1/outflows/stats/?dimension=overall", "/api/v1/operators/"):
    response = client.get(path)
    answers[path] = [response.status_code, len(response.json().get("results", []))]
print(json.dumps(answers))
"""


def test_token_pulls_answer_on_the_embedded_sqlite_default(tmp_path):
    data = tmp_path / "transfers.json"
    data.write_text(json.dumps(random_transfers(50, seed=3)))
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME"}}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    manage = [sys.executable, str(ROOT / "manage.py")]

    def run(*args: str) -> str:
        done = subprocess.run([*manage, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    run("migrate", "--noinput", "-v", "0")
    run("shell", "-c", f"from tests.outflows.factories import load_json; load_json({str(data)!r})")
    run("compute_outflows", "--json")
    answers = json.loads(run("shell", "-c", PULL).strip().splitlines()[-1])
    assert answers["/api/v1/transfers/?page_size=5"] == [200, 5]
    assert answers["/api/v1/outflows/stats/?dimension=overall"][0] == 200
    assert answers["/api/v1/outflows/stats/?dimension=overall"][1] >= 1
    assert answers["/api/v1/operators/"][0] == 200
