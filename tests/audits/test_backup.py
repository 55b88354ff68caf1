"""A backup restores into a fresh database with the audit-log chain and every stored file intact."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from auditlog.backup import backup_verify
from auditlog.services import audit_event_record
from tests.factories import OperatorFactory, auditor
from tests.filings.intake_helpers import SAMPLES, submit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def _psql(*args: str, env) -> None:
    db = settings.DATABASES["default"]
    base = ["-h", db["HOST"], "-p", str(db["PORT"]), "-U", db["USER"]]
    subprocess.run([args[0], *base, *args[1:]], env=env, check=True, capture_output=True)


def test_backup_restores_into_a_fresh_database_and_verifies(tmp_path):
    operator = OperatorFactory()
    filing = submit(operator, (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()).filing
    user = auditor()
    for n in range(3):
        audit_event_record(actor=user, action="test.event", details={"n": n})

    backup = tmp_path / "backup"
    call_command("backup", str(backup))
    assert backup_verify(source=backup) == []
    assert (backup / "media" / filing.file.name).is_file()

    restored = f"{settings.DATABASES['default']['NAME']}_restored"
    env = dict(os.environ)
    _psql("dropdb", "--if-exists", restored, env=env)
    _psql("createdb", restored, env=env)
    try:
        _psql("pg_restore", "--no-owner", "-d", restored, str(backup / "database.dump"), env=env)
        db = settings.DATABASES["default"]
        restored_env = {
            **env,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{restored}",
            "MEDIA_ROOT": str(backup / "media"),
        }
        check = subprocess.run(
            [sys.executable, "manage.py", "verify_audit_log"],
            cwd=ROOT,
            env=restored_env,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        # The stored original file still has the SHA-256 the restored filing row records.
        code = (
            "import django, hashlib; django.setup(); from operators.models import RegistrationFiling as F; "
            f"f = F.objects.get(pk={filing.pk}); "
            "print(hashlib.sha256(open(f.file.path, 'rb').read()).hexdigest() == f.sha256, f.status)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**restored_env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        )
        assert out.stdout.split() == ["True", "accepted"], out.stderr
    finally:
        _psql("dropdb", "--if-exists", restored, env=env)


def test_verify_names_a_changed_or_missing_file(tmp_path):
    submit(OperatorFactory(), (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes())
    backup = tmp_path / "b"
    call_command("backup", str(backup))
    stored = next(p for p in (backup / "media").rglob("*") if p.is_file())
    stored.write_bytes(stored.read_bytes() + b"tampered")
    (backup / "database.dump").unlink()
    problems = backup_verify(source=backup)
    assert any(p.startswith("changed: media/") for p in problems)
    assert "missing: database.dump" in problems
    with pytest.raises(CommandError):
        call_command("backup", str(backup), "--verify")
