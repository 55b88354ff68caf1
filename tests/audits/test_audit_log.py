"""The audit log's hash chain catches edited, inserted and deleted events; PostgreSQL refuses changes."""

import hashlib
import threading
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, close_old_connections, connection, transaction

from auditlog.chain import CONTENT_FIELDS, HASH_TAIL, event_hash, event_hash_prefix
from auditlog.models import AuditChainHead, AuditEvent
from auditlog.selectors import audit_log_verify
from auditlog.services import _events_append_orm, audit_event_record, event_content, events_append, hashable
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


# --- The PostgreSQL writer (audits_events_append, migration 0005) -------------------------------

ODD = {
    "text": 'кириллица, emoji 🛰, quotes " and \\ backslash, tab\t, NUL \x00, "prev_hash":"x"}',
    "prev_hash": "0" * 64,  # a nested key named like the chain field does not confuse the prefix
    "numbers": [0, -1, 2**63 - 1, 10**30, 1.5, 1e-7],
    "nested": {"null": None, "empty": [], "bool": True},
}


@pytest.mark.parametrize(
    "content",
    [
        {"action": "x", "created_at": "2025-01-01T00:00:00+00:00", "details": None},
        {"action": "x", "created_at": "2025-01-01T00:00:00.000001+00:00", "actor_username": "Ёж", "details": ODD},
        {"action": "x", "created_at": "2025-01-01T00:00:00+00:00", "before": [1, "2"], "after": {"a": {"b": []}}},
    ],
)
def test_hash_prefix_plus_previous_hash_is_the_event_hash(content):
    prefix = event_hash_prefix(content)
    for prev in ("0" * 64, "f" * 64, hashlib.sha256(b"x").hexdigest()):
        text = f"{prefix}{prev}{HASH_TAIL}"
        assert hashlib.sha256(text.encode()).hexdigest() == event_hash({**content, "prev_hash": prev})


def test_odd_content_is_hashed_by_postgresql_as_event_hash_does():
    actor = h.user("ёжик", group="auditors")
    event = audit_event_record(
        actor=actor, action="export.odd", obj=h.operator(), ip="2001:db8::1", before=ODD, after=[ODD], details=ODD
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.hash, stored.prev_hash) == (event.hash, event.prev_hash)
    assert stored.details == event.details
    assert stored.details["text"].endswith('NUL \ufffd, "prev_hash":"x"}')  # NUL replaced, as before
    assert stored.created_at == event.created_at  # microseconds kept
    assert event_hash(hashable({name: getattr(stored, name) for name in CONTENT_FIELDS})) == stored.hash
    assert audit_log_verify() is None


def test_none_is_stored_as_sql_null_and_json_null_inside_kept():
    event = audit_event_record(actor=None, action="x", details={"a": None})
    stored = AuditEvent.objects.filter(pk=event.pk, before__isnull=True, after__isnull=True).get()
    assert stored.details == {"a": None}


def test_append_is_one_statement_and_creates_the_head(django_assert_num_queries):
    assert not AuditEvent.objects.exists()
    AuditChainHead.objects.all().delete()  # an empty log, as after a flush
    with django_assert_num_queries(1):
        first = audit_event_record(actor=None, action="api.pull")
    with django_assert_num_queries(1):
        second = audit_event_record(actor=None, action="api.pull")
    head = AuditChainHead.objects.get()
    assert (head.pk, head.last_event_id, head.last_hash) == (1, second.pk, second.hash)
    assert first.prev_hash == "0" * 64
    assert second.prev_hash == first.hash
    assert not first._state.adding


def test_a_batch_is_chained_in_order():
    contents = [
        event_content(actor=None, action="flag.opened", obj=None, ip=None, before=None, after={"n": n}, details=None)
        for n in range(5)
    ]
    events = events_append(contents)
    assert [e.after["n"] for e in events] == list(range(5))
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    stored = list(AuditEvent.objects.order_by("id").values_list("id", "hash"))
    assert stored == [(e.pk, e.hash) for e in events]
    assert audit_log_verify() is None


def test_the_orm_writer_and_the_sql_writer_share_one_chain():
    """The portable writer (other databases) and the PostgreSQL function lock the same head."""

    def content(n):
        return event_content(actor=None, action="x", obj=None, ip=None, before=None, after=None, details={"n": n})

    audit_event_record(actor=None, action="x", details={"n": 0})
    _events_append_orm([content(1), content(2)])
    audit_event_record(actor=None, action="x", details={"n": 3})
    _events_append_orm([content(4)])
    assert [e.details["n"] for e in AuditEvent.objects.order_by("id")] == [0, 1, 2, 3, 4]
    assert audit_log_verify() is None


def test_append_rolls_back_with_the_callers_transaction(events):
    head = AuditChainHead.objects.values_list("last_event_id", "last_hash").get()

    def log_then_fail():
        with transaction.atomic():
            audit_event_record(actor=None, action="x")
            raise RuntimeError("the caller fails after logging")

    with pytest.raises(RuntimeError):
        log_then_fail()
    assert AuditChainHead.objects.values_list("last_event_id", "last_hash").get() == head
    assert AuditEvent.objects.count() == len(events)
    audit_event_record(actor=None, action="y")
    assert audit_log_verify() is None


@pytest.mark.django_db(transaction=True)
def test_an_event_is_committed_when_the_append_returns():
    """Outside a transaction (as API requests run) the event is durable before the response is sent."""
    event = audit_event_record(actor=None, action="api.pull.transfers", details={"rows": 1})
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params) as other:  # another session sees it at once
        row = other.execute("SELECT hash FROM audits_auditevent WHERE id = %s", [event.pk]).fetchone()
    assert row == (event.hash,)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_both_kinds_and_batches_keep_one_chain():
    errors = []

    def content(i, j, k):
        details = {"writer": i, "n": j, "k": k}
        return event_content(actor=None, action="x", obj=None, ip=None, before=None, after=None, details=details)

    def write(i):
        try:
            for j in range(8):
                if i % 3 == 0:
                    audit_event_record(actor=None, action="api.pull", details={"writer": i, "n": j})
                elif i % 3 == 1:
                    events_append([content(i, j, k) for k in range(3)])
                else:
                    _events_append_orm([content(i, j, 0)])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.count() == 2 * 8 + 2 * 8 * 3 + 2 * 8
    assert audit_log_verify() is None
