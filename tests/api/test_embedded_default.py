"""The API on the embedded default (SQLite, as `make run` starts it), in a process of its own.

Every other API test runs on PostgreSQL; this one catches what only SQLite's driver does
differently (timestamps come back as text, made aware by Django's converters).
"""

import json
import re

from tests.conftest import embedded_sqlite_manage
from tests.outflows.factories import random_transfers

PULL = """
import json
import re
from django.test import Client
from api.services import api_token_create
from api.models import Scope
key = api_token_create(name="Embedded check", scopes=list(Scope.values)).key
client = Client(HTTP_AUTHORIZATION=f"Token {key}", SERVER_NAME="127.0.0.1")
answers = {}
for path in ("/api/v1/transfers/?page_size=5", "/api/v1/outflows/stats/?dimension=overall", "/api/v1/operators/"):
    response = client.get(path)
    answers[path] = [response.status_code, len(response.json().get("results", []))]
answers["first transfer"] = client.get("/api/v1/transfers/?page_size=1").json()["results"][0]
answers["overall stat"] = client.get("/api/v1/outflows/stats/?dimension=overall&cohort=all").json()["results"][0]
print(json.dumps(answers))
"""


def test_token_pulls_answer_on_the_embedded_sqlite_default(tmp_path):
    run = embedded_sqlite_manage(tmp_path, random_transfers(50, seed=3))
    run("compute_outflows", "--json")
    answers = json.loads(run("shell", "-c", PULL).strip().splitlines()[-1])
    assert answers["/api/v1/transfers/?page_size=5"] == [200, 5]
    assert answers["/api/v1/outflows/stats/?dimension=overall"][0] == 200
    assert answers["/api/v1/outflows/stats/?dimension=overall"][1] >= 1
    assert answers["/api/v1/operators/"][0] == 200
    # SQLite's plain columns go through DRF's own fields: the same JSON as on PostgreSQL.
    transfer = answers["first transfer"]
    assert list(transfer) == [
        "id", "operator", "filing", "external_id", "occurred_at", "direction",
        "investor_ref", "platform", "asset", "amount", "value_byn", "updated_at",
    ]  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+03:00", transfer["occurred_at"])
    assert re.fullmatch(r"-?\d+\.\d{18}", transfer["amount"])
    assert re.fullmatch(r"-?\d+\.\d{2}", transfer["value_byn"])
    stat = answers["overall stat"]
    assert isinstance(stat["non_return_share"], float)  # a number, as the schema says
    assert re.fullmatch(r"\d+\.\d{2}", stat["outbound_value_byn"])
