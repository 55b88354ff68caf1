"""The application's database role (`portal_app`) adds to the audit log and can never change it.

scripts/services.sh creates the role in the test cluster; the audits migration 0006 gives it
the tables, without UPDATE, DELETE and TRUNCATE on the audit log. The test database itself is
created and migrated by the owner (`portal`, a superuser); these tests log in as the app role
for real (its own connections and processes).
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml
from django.conf import settings
from django.db import connection

from auditlog.chain import event_hash_prefix
from auditlog.checkpoints import audit_log_check
from auditlog.models import AuditEvent
from auditlog.services import audit_event_record, event_content, hashable

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _connect(role: str, dbname: str | None = None) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"], port=db["PORT"], dbname=dbname or db["NAME"], user=role, autocommit=True, connect_timeout=10
    )


def _refused(conn: psycopg.Connection, sql: str, params=()) -> str:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        conn.execute(sql, params)
    return str(refused.value)


def _append(conn: psycopg.Connection, action: str) -> int:
    content = hashable(event_content(actor=None, action=action, obj=None, ip="", before=None, after=None, details=None))
    content["hash_prefix"] = event_hash_prefix(content)
    row = conn.execute("SELECT event_id FROM audits_events_append(%s::jsonb)", [json.dumps([content])]).fetchone()
    return row[0]


def _check_app_role(conn: psycopg.Connection, *, role: str) -> None:
    """What the issue asks of the role: INSERT (and SELECT) on the log, nothing that changes it."""
    assert conn.execute(
        "SELECT current_user, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone() == (role, False, False, False)
    event_id = _append(conn, "test.app_role")
    assert conn.execute("SELECT action FROM audits_auditevent WHERE id = %s", [event_id]).fetchone() == (
        "test.app_role",
    )
    denied = "permission denied for table audits_auditevent"
    assert denied in _refused(conn, "UPDATE audits_auditevent SET action = 'x' WHERE id = %s", [event_id])
    assert denied in _refused(conn, "DELETE FROM audits_auditevent WHERE id = %s", [event_id])
    assert denied in _refused(conn, "TRUNCATE audits_auditevent")
    assert denied in _refused(conn, "SELECT id FROM audits_auditevent WHERE id = %s FOR UPDATE", [event_id])
    assert "must be owner" in _refused(
        conn, "ALTER TABLE audits_auditevent DISABLE TRIGGER audits_auditevent_append_only"
    )
    assert "must be owner" in _refused(conn, "DROP TABLE audits_auditevent")
    head = "permission denied for table audits_auditchainhead"
    assert head in _refused(conn, "DELETE FROM audits_auditchainhead")
    assert head in _refused(conn, "TRUNCATE audits_auditchainhead")
    assert "permission denied to set role" in _refused(conn, "SET ROLE portal")


def test_the_app_role_can_insert_audit_events_but_not_update_delete_or_truncate_them():
    role = settings.DATABASE_APP_ROLE
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cur.fetchone()
    assert found == (False,), f"role {role!r} missing or a superuser: run the tests with scripts/test.sh"
    before = audit_event_record(actor=None, action="test.owner")
    with _connect(role) as conn:
        _check_app_role(conn, role=role)
    assert AuditEvent.objects.filter(pk=before.pk).exists()
    assert audit_log_check().intact


def test_the_application_runs_as_the_app_role():
    """A real process of the portal logged in as the app role: ORM writes, the audit log, verify, a checkpoint."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{settings.DATABASE_APP_ROLE}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "AUDIT_CHECKPOINT_DIR": str(settings.AUDIT_CHECKPOINT_DIR),
    }
    code = (
        "import django; django.setup(); from django.contrib.auth.models import Group, User; "
        "from auditlog.services import audit_event_record; "
        "from auditlog.checkpoints import checkpoint_write; from django.db import connection; "
        "u = User.objects.create_user('app-role-user'); u.groups.add(Group.objects.create(name='app-role'));"
        "audit_event_record(actor=u, action='test.app_role'); cp = checkpoint_write(source='beat'); "
        "cur = connection.cursor(); cur.execute('SELECT current_user'); print(cur.fetchone()[0], cp.count)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == [settings.DATABASE_APP_ROLE, "1"]
    done = subprocess.run(
        [sys.executable, "manage.py", "verify_audit_log"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "intact: 1 events, agrees with 1 checkpoints" in done.stdout


def test_compose_init_script_and_migrate_give_a_fresh_database_the_restricted_role(tmp_path):
    """config/postgres/10-app-role.sh as the postgres image runs it, then `migrate` as the owner (compose)."""
    db = settings.DATABASES["default"]
    suffix = uuid.uuid4().hex[:8]
    name, role = f"{db['NAME']}_init_{suffix}", f"portal_app_{suffix}"
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    pg = {**base, "PGHOST": db["HOST"], "PGPORT": str(db["PORT"])}
    with connection.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        init = subprocess.run(
            ["sh", str(ROOT / "config/postgres/10-app-role.sh")],
            env={
                **pg,
                "POSTGRES_USER": db["USER"],
                "POSTGRES_DB": name,
                "POSTGRES_APP_USER": role,
                "POSTGRES_APP_PASSWORD": "app-password",
            },
            capture_output=True,
            text=True,
        )
        assert init.returncode == 0, init.stderr
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}",
                "DATABASE_APP_ROLE": role,
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        with _connect(role, name) as conn:
            _check_app_role(conn, role=role)
            # Tables of every app, including ones created after the audits migration, are usable.
            conn.execute("SELECT count(*) FROM operators_operator").fetchone()
            conn.execute("INSERT INTO auth_group (name) VALUES ('x')")
    finally:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_compose_connects_the_services_as_the_app_role_and_migrates_as_the_owner():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://portal_app:"), name
        assert env["DATABASE_APP_ROLE"] == "portal_app"
        assert "${AUDIT_CHECKPOINT_KEY:?" in env["AUDIT_CHECKPOINT_KEY"]
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "migrate" not in " ".join(services[name]["command"])
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert migrate["environment"]["DATABASE_URL"].startswith("postgres://portal:")
    assert "./config/postgres:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    assert "POSTGRES_APP_PASSWORD" in services["postgres"]["environment"]
    # The checkpoints live where the worker writes them and web verifies them, never beside the database.
    for name in ("web", "worker"):
        assert "checkpoints:/data/audit-checkpoints" in services[name]["volumes"]
    assert not any("checkpoints" in v for v in services["postgres"]["volumes"])
