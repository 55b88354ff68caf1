"""Bulk feeds (GET /api/v1/exports/...): the JSON list's rows, whole, as CSV or Parquet; scoped,
visible as the list is, audit-logged, resumable by a watermark that neither loses nor repeats a row."""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
import pyarrow.parquet as pq
import pytest
from django.db import connection
from django.utils import timezone

from api.models import Scope
from api.services import api_token_create
from auditlog.models import AuditEvent
from audits.models import Flag, FlagStatus, Rule
from outflows.models import CrossBorderTransfer
from tests.api.conftest import client_with, make_transfers
from tests.audits.helpers import seed_catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    """Transactional tests flush what migrations seeded: the rule catalogue comes back first."""
    if not Rule.objects.exists():
        seed_catalogue()


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_body(response).decode())))


def _json_list(client, path: str) -> list[dict]:
    rows, url = [], path
    while url:
        page = client.get(url).json()
        rows += page["results"]
        url = page["next"]
    return rows


def test_the_csv_feed_holds_exactly_the_json_lists_rows(world):
    make_transfers(world.op_b, world.filing_b, world.platform, 40)
    client = client_with(world.keys["agency_all"])
    query = f"operator={world.op_b.unp}&direction=OUT"
    response = client.get(f"/api/v1/exports/transfers?{query}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    fed = _csv(response)
    listed = _json_list(client, f"/api/v1/transfers/?{query}&page_size=7")
    assert [int(r["id"]) for r in fed] == [r["id"] for r in listed]
    assert len(fed) == CrossBorderTransfer.objects.filter(operator=world.op_b, direction="OUT").count() > 20
    first, reference = fed[0], listed[0]
    assert list(first) == list(reference)  # the same columns, in the same order
    for name in ("operator", "external_id", "direction", "investor_ref", "platform", "asset", "value_byn"):
        assert first[name] == str(reference[name])
    assert Decimal(first["amount"]) == Decimal(reference["amount"])


def test_the_parquet_feed_has_typed_columns_and_the_same_rows(world):
    make_transfers(world.op_b, world.filing_b, world.platform, 25)
    client = client_with(world.keys["agency_all"])
    csv_rows = _csv(client.get("/api/v1/exports/transfers"))
    response = client.get("/api/v1/exports/transfers?format=parquet")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(_body(response)))
    assert table.num_rows == len(csv_rows) == CrossBorderTransfer.objects.count()
    assert str(table.schema.field("value_byn").type) == "decimal128(18, 2)"
    assert str(table.schema.field("occurred_at").type) == "timestamp[us, tz=UTC]"
    rows = table.to_pylist()
    transfer = CrossBorderTransfer.objects.get(pk=rows[0]["id"])
    assert rows[0]["value_byn"] == transfer.value_byn
    assert rows[0]["occurred_at"] == transfer.occurred_at
    assert rows[0]["external_id"] == transfer.external_id


def test_flags_feed_follows_the_access_rule_and_escapes_formulas(world):
    rule = Rule.objects.order_by("id").first()
    Flag.objects.create(
        operator=world.op_a, rule=rule, fingerprint="c" * 64, subject="=HYPERLINK(1)", severity="low", status="open"
    )
    agency = _csv(client_with(world.keys["agency_all"]).get("/api/v1/exports/flags"))
    assert {r["subject"] for r in agency} >= {"'=HYPERLINK(1)"}
    assert len(agency) == Flag.objects.count()
    # Operator staff: their own operator's confirmed flags only, as in the JSON list.
    own = _csv(client_with(world.keys["operator_a"]).get("/api/v1/exports/flags"))
    assert [int(r["id"]) for r in own] == [world.flag_a.pk]
    assert Flag.objects.get(pk=world.flag_a.pk).status == FlagStatus.CONFIRMED


def test_scope_and_role_are_those_of_the_list(world):
    flags_only = api_token_create(name="flags", scopes=[Scope.FLAGS]).key
    assert client_with(flags_only).get("/api/v1/exports/transfers").status_code == 403
    assert client_with(world.keys["operator_a"]).get("/api/v1/exports/transfers").status_code == 403
    assert client_with(None).get("/api/v1/exports/transfers").status_code == 401
    empty = client_with(world.keys["agency_all"]).get("/api/v1/exports/transfers?until=")
    assert empty.status_code == 400
    bad = client_with(world.keys["agency_all"]).get("/api/v1/exports/transfers?format=xml")
    assert bad.status_code == 400
    assert "format" in bad.json()["errors"]


def test_every_export_is_one_audit_event_with_its_rows(world):
    client = client_with(world.keys["agency_all"])
    before = AuditEvent.objects.filter(action="api.export.transfers").count()
    fed = _csv(client.get("/api/v1/exports/transfers?direction=OUT"))
    events = AuditEvent.objects.filter(action="api.export.transfers").order_by("id")
    assert events.count() == before + 1
    details = events.last().details
    assert details["rows"] == len(fed)
    assert details["complete"] is True
    assert details["filters"] == {"direction": ["OUT"]}


@pytest.mark.django_db(transaction=True)  # autocommit, as a request runs
def test_a_download_broken_off_is_logged_incomplete_and_the_connection_stays_usable(catalogue, world):
    make_transfers(world.op_b, world.filing_b, world.platform, 30000)
    response = client_with(world.keys["agency_all"]).get("/api/v1/exports/transfers")
    stream = iter(response.streaming_content)
    next(stream)
    next(stream)
    response.close()  # what the server does when the client goes away
    event = AuditEvent.objects.filter(action="api.export.transfers").latest("id")
    assert event.details["complete"] is False
    assert 0 < event.details["rows"] < 30003
    assert CrossBorderTransfer.objects.count() == 30003


def test_resuming_with_until_and_after_id_gives_the_rest(world):
    make_transfers(world.op_b, world.filing_b, world.platform, 50)
    client = client_with(world.keys["agency_all"])
    whole = client.get("/api/v1/exports/transfers")
    watermark = whole["X-Feed-Watermark"]
    all_ids = [int(r["id"]) for r in _csv(whole)]
    cut = all_ids[19]
    rest = client.get("/api/v1/exports/transfers", {"until": watermark, "after_id": cut})
    assert [int(r["id"]) for r in _csv(rest)] == all_ids[20:]
    # An id beyond bigint (found by the schemathesis fuzz test: it was a 500) is a parameter error.
    for huge in (2**63, 11400714819323198485):
        assert client.get("/api/v1/exports/transfers", {"after_id": huge}).status_code == 400
    assert client.get("/api/v1/exports/transfers", {"after_id": 2**63 - 1}).status_code == 200


def _dsn() -> str:
    s = connection.settings_dict
    return (
        f"host={s['HOST'] or 'localhost'} port={s['PORT']} dbname={s['NAME']} user={s['USER']} password={s['PASSWORD']}"
    )


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_transaction_open_during_an_export_come_with_the_next_pull_once(catalogue, world):
    """A writer that began before the export and commits after it: its rows carry the writer's
    start time, before the export's; an id or clock watermark would lose them."""
    client = client_with(world.keys["agency_all"])
    first_id = world.transfer_a.pk
    writer = psycopg.connect(_dsn())
    writer.execute("BEGIN")
    writer.execute(
        "INSERT INTO outflows_crossbordertransfer (operator_id, filing_id, external_id, occurred_at, direction,"
        " investor_ref, platform_id, asset, amount, value_byn) SELECT operator_id, filing_id, external_id || '-late',"
        " occurred_at, direction, investor_ref, platform_id, asset, amount, value_byn"
        " FROM outflows_crossbordertransfer WHERE id = %s",
        (first_id,),
    )
    try:
        first = client.get("/api/v1/exports/transfers")
        first_ids = {int(r["id"]) for r in _csv(first)}
        watermark = first["X-Feed-Watermark"]
        writer.commit()
    finally:
        writer.close()
    late = CrossBorderTransfer.objects.get(external_id__endswith="-late")
    assert late.pk not in first_ids
    assert late.updated_at >= datetime.fromisoformat(watermark)  # written before the export, committed after
    second = _csv(client.get("/api/v1/exports/transfers", {"updated_since": watermark}))
    assert [int(r["id"]) for r in second] == [late.pk]
    third_since = timezone.now() + timedelta(seconds=1)
    assert _csv(client.get("/api/v1/exports/transfers", {"updated_since": third_since.isoformat()})) == []


def test_stats_feed_defaults_to_the_latest_run(world):
    rows = _csv(client_with(world.keys["agency_all"]).get("/api/v1/exports/stats"))
    assert {int(r["run"]) for r in rows} == {world.run.pk}
    assert len(rows) == world.run.stats.count()
