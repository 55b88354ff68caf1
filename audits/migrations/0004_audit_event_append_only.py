"""On PostgreSQL, refuse UPDATE and DELETE on the audit log at the database level.

The hash chain makes tampering detectable; the trigger makes it need a deliberate
ALTER TABLE ... DISABLE TRIGGER (itself a privileged, visible act). TRUNCATE is
left alone: test databases are flushed with it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audits_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audits_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audits_auditevent_append_only ON audits_auditevent;
CREATE TRIGGER audits_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audits_auditevent
    FOR EACH ROW EXECUTE FUNCTION audits_auditevent_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audits_auditevent_append_only ON audits_auditevent;
DROP FUNCTION IF EXISTS audits_auditevent_refuse_change();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0003_group_permissions")]
    operations = [migrations.RunPython(create, drop)]
