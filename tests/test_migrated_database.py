"""A database built by `migrate` alone, as production's is: the roles' rights and the audit log's move.

The test database is PostgreSQL; the migrated database here is a fresh SQLite file, migrated in a
`manage.py shell` of its own (the embedded default's path, which must keep working too):

- the SCC groups get exactly the rights operators.roles.groups_sync gives the test factories'
  users (audits/0003 once gave supervisors `change_rule` only while the factories gave them add
  and delete too, and a migrated database had no rights at all on agency tokens or the filing
  calendar);
- moving the audit log to the auditlog app (auditlog/0001-0002, audits/0007) leaves an existing
  log's rows as they were, keeps its content types' ids and so the auditors' right to read it,
  and can be undone.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from operators.roles import AUDITORS, SUPERVISORS, groups_sync

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, os, sqlite3
from django.core.management import call_command
from auditlog.services import audit_event_record

path = os.environ["PROBE_SQLITE_PATH"]
def rows(sql):
    with sqlite3.connect(path) as db:
        return [list(r) for r in db.execute(sql)]

GRANTS = ("SELECT g.name, ct.app_label || '.' || p.codename FROM auth_group_permissions gp "
          "JOIN auth_group g ON g.id = gp.group_id JOIN auth_permission p ON p.id = gp.permission_id "
          "JOIN django_content_type ct ON ct.id = p.content_type_id ORDER BY 1, 2")
LOG_TYPES = "SELECT id, app_label, model FROM django_content_type WHERE model LIKE 'audit%' ORDER BY id"
out = {}
call_command("migrate", verbosity=0)
out["grants"] = rows(GRANTS)
out["types_after"] = rows(LOG_TYPES)
# Back to before the move: the log as an existing database holds it, then the move again.
call_command("migrate", "auditlog", "zero", verbosity=0)
out["types_before"] = rows(LOG_TYPES)
for n in range(3):
    audit_event_record(actor=None, action=f"test.{n}", details={"n": n, "text": "событие"})
out["log_before"] = rows("SELECT * FROM audits_auditevent ORDER BY id") + rows("SELECT * FROM audits_auditchainhead")
call_command("migrate", verbosity=0)
out["log_after"] = rows("SELECT * FROM audits_auditevent ORDER BY id") + rows("SELECT * FROM audits_auditchainhead")
out["types_moved"] = rows(LOG_TYPES)
out["grants_moved"] = rows(GRANTS)
print("PROBE" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("migrated") / "portal.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "REDIS_", "TEST_DATABASE"))
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PROBE_SQLITE_PATH": str(path),
        }
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("PROBE", 1)[1])


def _grants_of_groups_sync() -> list[list[str]]:
    groups_sync()
    return sorted(
        [group.name, f"{p.content_type.app_label}.{p.codename}"]
        for group in Group.objects.filter(name__in=[AUDITORS, SUPERVISORS])
        for p in group.permissions.select_related("content_type")
    )


@pytest.mark.django_db
def test_a_migrated_database_gives_the_roles_the_rights_groups_sync_gives(migrated):
    expected = _grants_of_groups_sync()
    assert migrated["grants"] == expected
    assert migrated["grants_moved"] == expected
    supervisors = {grant for group, grant in expected if group == SUPERVISORS}
    # Rules are code: supervisors edit them, never add or delete one; tokens and the calendar are theirs.
    assert {"audits.view_rule", "audits.change_rule"} <= supervisors
    assert not {"audits.add_rule", "audits.delete_rule"} & supervisors
    assert {"api.add_apitoken", "operators.change_filingcalendar", "auditlog.view_auditevent"} <= supervisors
    assert [AUDITORS, "auditlog.view_auditevent"] in expected


@pytest.mark.django_db
def test_groups_sync_takes_back_rights_it_does_not_give():
    groups_sync()
    supervisors = Group.objects.get(name=SUPERVISORS)
    extra = supervisors.permissions.model.objects.get(content_type__app_label="audits", codename="delete_rule")
    supervisors.permissions.add(extra)
    groups_sync()
    assert not supervisors.permissions.filter(pk=extra.pk).exists()


def test_moving_the_audit_log_keeps_its_rows_and_content_types(migrated):
    # Before the move the log's content types are the audits app's (post_migrate, run with today's
    # code, also made auditlog ones beside them: the move replaces those, as after an interrupted run).
    before = {model: pk for pk, label, model in migrated["types_before"] if label == "audits"}
    after = {model: pk for pk, label, model in migrated["types_after"] if label == "auditlog"}
    assert set(before) == set(after) == {"auditevent", "auditchainhead"}
    assert {label for _, label, _ in migrated["types_after"]} == {"auditlog"}
    # The same rows, relabelled: permissions and admin log entries keep pointing at them.
    assert before == after
    assert migrated["types_moved"] == [
        [pk, "auditlog", model] for model, pk in sorted(before.items(), key=lambda i: i[1])
    ]
    assert len(migrated["log_before"]) == 4  # three events and the chain's head
    assert migrated["log_after"] == migrated["log_before"]
