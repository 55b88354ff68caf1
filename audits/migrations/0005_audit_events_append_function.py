"""On PostgreSQL, append events to the audit log's hash chain in one round trip.

`audits_events_append(events jsonb)` does what the Python writer did in five
statements (BEGIN, lock the head, INSERT, update the head, COMMIT): it locks the
chain head, chains the events, inserts them and moves the head, all in the
caller's transaction (in autocommit: its own, committed when the call returns).

The hash stays the one `audits.chain.event_hash` computes: Python sends each
event's canonical JSON up to its previous hash (`hash_prefix`, see
`audits.chain.event_hash_prefix`), and the function hashes
`hash_prefix || previous hash || '"}'` with sha256() over the same UTF-8 bytes,
then the writer checks every returned hash in Python. Ids are taken from the
sequence while the head is locked, so id order is chain order.

Each element of `events`: created_at (ISO text with offset), actor_id, actor_username,
ip, action, object_type, object_id, object_repr, before, after, details (JSON; null is
stored as SQL NULL, as the ORM does for None), hash_prefix. A change to the columns of
AuditEvent needs a new version of this function.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audits_events_append(events jsonb)
RETURNS TABLE (event_id bigint, event_prev_hash text, event_hash text)
LANGUAGE plpgsql AS $$
DECLARE
    head_hash text;
    prefix text;
    ids bigint[] := '{}';
    prevs text[] := '{}';
    hashes text[] := '{}';
    id_sequence regclass := pg_get_serial_sequence('audits_auditevent', 'id');
BEGIN
    SELECT h.last_hash INTO head_hash FROM audits_auditchainhead h WHERE h.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audits_auditchainhead (id, last_event_id, last_hash)
            VALUES (1, 0, repeat('0', 64)) ON CONFLICT (id) DO NOTHING;  -- another writer may create it first
        SELECT h.last_hash INTO head_hash FROM audits_auditchainhead h WHERE h.id = 1 FOR UPDATE;
    END IF;
    FOR prefix IN
        SELECT e.value ->> 'hash_prefix' FROM jsonb_array_elements(events) WITH ORDINALITY AS e(value, n) ORDER BY e.n
    LOOP
        prevs := prevs || head_hash;
        head_hash := encode(sha256(convert_to(prefix || head_hash || '"}', 'UTF8')), 'hex');
        hashes := hashes || head_hash;
        ids := ids || nextval(id_sequence);
    END LOOP;
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO audits_auditevent (
        id, created_at, actor_id, actor_username, ip, action, object_type, object_id, object_repr,
        before, after, details, prev_hash, hash
    )
    SELECT ids[e.n], (e.value ->> 'created_at')::timestamptz, (e.value ->> 'actor_id')::bigint,
           e.value ->> 'actor_username', e.value ->> 'ip', e.value ->> 'action', e.value ->> 'object_type',
           e.value ->> 'object_id', e.value ->> 'object_repr',
           NULLIF(e.value -> 'before', 'null'), NULLIF(e.value -> 'after', 'null'),
           NULLIF(e.value -> 'details', 'null'), prevs[e.n], hashes[e.n]
    FROM jsonb_array_elements(events) WITH ORDINALITY AS e(value, n);
    UPDATE audits_auditchainhead SET last_event_id = ids[cardinality(ids)], last_hash = head_hash WHERE id = 1;
    RETURN QUERY SELECT ids[i], prevs[i], hashes[i] FROM generate_subscripts(ids, 1) AS i ORDER BY i;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS audits_events_append(jsonb);"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0004_audit_event_append_only")]
    operations = [migrations.RunPython(create, drop)]
