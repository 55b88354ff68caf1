"""On PostgreSQL, the application's login role may add to the audit log but never change it.

Migrations run as the owner of the tables; web, worker and beat connect as the role named
by DATABASE_APP_ROLE (docker-compose: config/postgres/10-app-role.sh creates it; tests and
benchmarks: scripts/services.sh). When that role exists, it gets SELECT, INSERT, UPDATE and
DELETE on every table (also, by default privileges, on the tables of later migrations) and
the sequences, then loses UPDATE, DELETE and TRUNCATE on the audit log and DELETE and
TRUNCATE on its head: without ownership it cannot disable the append-only trigger either.
Nothing happens on SQLite or when the role does not exist.
"""

from django.conf import settings
from django.db import migrations


def _statements(role: str, schema: str) -> list[str]:
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audits_auditevent FROM {role}",
        f"REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON audits_auditchainhead FROM {role}",
    ]


def grant(apps, schema_editor):
    connection = schema_editor.connection
    role = getattr(settings, "DATABASE_APP_ROLE", "")
    if connection.vendor != "postgresql" or not role:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            return
        if found[0]:
            raise RuntimeError(f"DATABASE_APP_ROLE {role!r} is a superuser: it must be an ordinary login role")
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
    for statement in _statements(schema_editor.quote_name(role), schema_editor.quote_name(schema)):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0005_audit_events_append_function")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
