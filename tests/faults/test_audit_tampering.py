"""Faults on purpose: the audit log rewritten by a database superuser after a checkpoint was written.

The test database connection is the owner and a superuser, as an attacker with the database
would be: it disables the append-only trigger, rewrites the table and the chain head with the
correct unkeyed SHA-256 hashes, and the chain alone verifies again (asserted first). The signed
checkpoint outside the database catches all three: a deleted tail, a deleted log, a re-sealed chain.
"""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from auditlog.chain import CONTENT_FIELDS, GENESIS_HASH, event_hash
from auditlog.checkpoints import audit_log_check, checkpoint_write
from auditlog.models import AuditEvent
from auditlog.selectors import audit_log_verify
from auditlog.services import audit_event_record, hashable

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

TRIGGER = "ALTER TABLE audits_auditevent {} TRIGGER audits_auditevent_append_only"


@pytest.fixture
def anchored():
    """Ten events, anchored by a checkpoint as beat writes it."""
    events = [audit_event_record(actor=None, action="flag.dismiss", details={"n": n}) for n in range(10)]
    checkpoint = checkpoint_write(source="beat")
    assert (checkpoint.count, checkpoint.last_event_id) == (10, events[-1].pk)
    return events


def _as_superuser(*statements):
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone()[0], "the attack needs the superuser the test database is created with"
        cur.execute(TRIGGER.format("DISABLE"))
        for sql, params in statements:
            cur.execute(sql, params)
        cur.execute(TRIGGER.format("ENABLE"))


def _reseal_from(event_id: int) -> None:
    """Recompute every hash from `event_id` on with the chain's own (unkeyed) function, move the head."""
    rows = list(AuditEvent.objects.order_by("id").values("id", *CONTENT_FIELDS, "hash"))
    prev = GENESIS_HASH
    updates = []
    for row in rows:
        if row["id"] >= event_id:
            content = hashable({**row, "prev_hash": prev})
            updates.append(
                (
                    "UPDATE audits_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                    [prev, event_hash(content), row["id"]],
                )
            )
            prev = event_hash(content)
        else:
            prev = row["hash"]
    updates.append(
        ("UPDATE audits_auditchainhead SET last_event_id = %s, last_hash = %s WHERE id = 1", [rows[-1]["id"], prev])
    )
    _as_superuser(*updates)


def _verify_fails(*expected: str) -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log")
    text = str(failure.value)
    for part in expected:
        assert part in text, text
    return text


def test_deleting_the_last_events_and_moving_the_head_back_is_detected(anchored):
    kept = anchored[6]
    _as_superuser(
        ("DELETE FROM audits_auditevent WHERE id > %s", [kept.pk]),
        ("UPDATE audits_auditchainhead SET last_event_id = %s, last_hash = %s WHERE id = 1", [kept.pk, kept.hash]),
    )
    assert audit_log_verify() is None  # the chain alone: "intact"
    _verify_fails(f"event #{anchored[-1].pk} as event 10", "only 7 events", "events deleted")


def test_deleting_the_whole_log_is_detected(anchored):
    _as_superuser(("DELETE FROM audits_auditevent", []), ("DELETE FROM audits_auditchainhead", []))
    assert audit_log_verify() is None
    assert AuditEvent.objects.count() == 0
    _verify_fails("only 0 events")


def test_truncating_the_log_is_detected(anchored):
    with connection.cursor() as cur:  # TRUNCATE does not even fire the row trigger
        cur.execute("TRUNCATE audits_auditevent, audits_auditchainhead")
    assert audit_log_verify() is None
    _verify_fails("only 0 events")


def test_editing_an_event_and_resealing_the_chain_is_detected(anchored):
    edited = anchored[3]
    _as_superuser(
        ("UPDATE audits_auditevent SET details = %s WHERE id = %s", [json.dumps({"n": 3, "cleared": True}), edited.pk])
    )
    assert audit_log_verify() is not None  # not yet re-sealed: the chain itself breaks
    _reseal_from(edited.pk)
    assert audit_log_verify() is None  # re-sealed: the chain alone is "intact" again
    assert AuditEvent.objects.get(pk=edited.pk).details == {"n": 3, "cleared": True}
    _verify_fails(f"event #{anchored[-1].pk}", "hash changed", "re-sealed")


def test_an_event_removed_from_the_middle_and_resealed_shifts_the_checkpointed_position(anchored):
    gone = anchored[2]
    _as_superuser(("DELETE FROM audits_auditevent WHERE id = %s", [gone.pk]))
    _reseal_from(anchored[3].pk)
    assert audit_log_verify() is None
    problems = audit_log_check().problems
    assert len(problems) == 1
    assert "only 9 events" in problems[0]


def test_a_later_checkpoint_refuses_to_anchor_a_rewritten_chain(anchored):
    from auditlog.checkpoints import CheckpointRefused

    edited = anchored[5]
    _as_superuser(("UPDATE audits_auditevent SET action = 'flag.confirm' WHERE id = %s", [edited.pk]))
    _reseal_from(edited.pk)
    with pytest.raises(CheckpointRefused, match=f"#{anchored[-1].pk}"):
        checkpoint_write(source="beat")
