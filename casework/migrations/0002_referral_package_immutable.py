"""On PostgreSQL, refuse UPDATE and DELETE of referral packages at the database level (as the audit log:
audits migration 0004). TRUNCATE is left alone: test databases are flushed with it."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION casework_referralpackage_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'casework_referralpackage is written once: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS casework_referralpackage_immutable ON casework_referralpackage;
CREATE TRIGGER casework_referralpackage_immutable
    BEFORE UPDATE OR DELETE ON casework_referralpackage
    FOR EACH ROW EXECUTE FUNCTION casework_referralpackage_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS casework_referralpackage_immutable ON casework_referralpackage;
DROP FUNCTION IF EXISTS casework_referralpackage_refuse_change();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("casework", "0001_referral_package")]
    operations = [migrations.RunPython(create, drop)]
