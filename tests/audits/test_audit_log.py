"""The audit log's hash chain catches edited, inserted and deleted events; PostgreSQL refuses changes."""

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, close_old_connections, connection, transaction

from audits.models import AuditEvent
from audits.selectors import audit_log_verify
from audits.services import audit_event_record
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db

TRIGGER = "ALTER TABLE audits_auditevent {} TRIGGER audits_auditevent_append_only"


@pytest.fixture
def events():
    actor = h.user("aud", group="auditors")
    op = h.operator()
    return [
        audit_event_record(
            actor=actor,
            action="export.flags",
            obj=op,
            ip="192.0.2.1",
            before={"a": 1},
            after={"a": 2.5, "d": "2025-01-01"},
            details={"rows": 3},
        ),
        audit_event_record(actor=None, action="api.pull", details={"endpoint": "/api/v1/flags/", "scope": "flags"}),
        audit_event_record(actor=actor, action="flag.note", obj=op, ip="2001:db8::1"),
        audit_event_record(actor=actor, action="export.operators"),
    ]


def _tamper(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(TRIGGER.format("DISABLE"))
        cur.execute(sql, params)
        cur.execute(TRIGGER.format("ENABLE"))


def test_intact_chain_verifies(events):
    assert audit_log_verify() is None
    out = StringIO()
    call_command("verify_audit_log", stdout=out)
    assert "intact" in out.getvalue()
    assert events[1].prev_hash == events[0].hash


def test_edited_event_is_detected(events):
    _tamper("UPDATE audits_auditevent SET details = '{\"rows\": 4}' WHERE id = %s", [events[0].pk])
    broken = audit_log_verify()
    assert broken.event_id == events[0].pk
    with pytest.raises(CommandError, match=f"#{events[0].pk}"):
        call_command("verify_audit_log")


def test_deleted_event_is_detected(events):
    _tamper("DELETE FROM audits_auditevent WHERE id = %s", [events[1].pk])
    assert audit_log_verify().event_id == events[2].pk


def test_deleted_last_event_is_detected(events):
    _tamper("DELETE FROM audits_auditevent WHERE id = %s", [events[-1].pk])
    assert audit_log_verify() is not None


def test_inserted_event_is_detected(events):
    e = events[1]
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO audits_auditevent (created_at, actor_id, actor_username, ip, action, object_type, object_id,"
            " object_repr, prev_hash, hash) VALUES (%s, NULL, 'ghost', '', 'flag.dismiss', '', '', '', %s, %s)",
            [e.created_at, e.hash, "f" * 64],
        )
        cur.execute("SELECT max(id) FROM audits_auditevent")
        inserted = cur.fetchone()[0]
    broken = audit_log_verify()
    assert broken is not None
    assert broken.event_id == inserted


def test_trigger_refuses_update_and_delete(events):
    for sql in (
        "UPDATE audits_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audits_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [events[0].pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=events[0].pk).delete()
    assert audit_log_verify() is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_chain():
    errors = []

    def write(i):
        try:
            for j in range(10):
                audit_event_record(actor=None, action="api.pull", details={"writer": i, "n": j})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.count() == 40
    assert audit_log_verify() is None
