"""Backups of the evidence: the PostgreSQL database (pg_dump) and the stored files, with checksums.

A backup directory holds `database.dump` (pg_dump custom format), `media/` (a copy
of MEDIA_ROOT: the original filings and answer attachments) and `manifest.json`
with the SHA-256 of every file. Restore (README "Backups"): `pg_restore` into an
empty database, copy `media/` to MEDIA_ROOT, then `manage.py backup --verify DIR`
and `manage.py verify_audit_log`.

Before its dump, a backup anchors the audit log in a signed checkpoint (auditlog/checkpoints.py),
recorded in the manifest too: the dump holds at least the checkpointed events.
"""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from auditlog.checkpoints import CheckpointRefused, checkpoint_write

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = ["-h", str(db.get("HOST") or "localhost"), "-p", str(db.get("PORT") or 5432), "-U", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _audit_checkpoint() -> dict:
    """A checkpoint of the audit log written now, or why none was (a backup is taken all the same)."""
    try:
        checkpoint = checkpoint_write(source="backup")
    except CheckpointRefused as exc:
        return {"refused": str(exc)}
    return {"last_event_id": checkpoint.last_event_id, "last_hash": checkpoint.last_hash, "count": checkpoint.count}


def backup_create(*, target: Path) -> dict:
    """Write a backup into the empty or new directory `target`; returns the manifest. PostgreSQL only."""
    if connection.vendor != "postgresql":
        raise RuntimeError("backups are made of the PostgreSQL database (production, tests)")
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty")
    checkpoint = _audit_checkpoint()
    args, env = _pg_env()
    dump = target / "database.dump"
    # One consistent snapshot of the whole database (pg_dump runs in one transaction).
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is not installed (Debian: postgresql-client)")
    subprocess.run(  # noqa: S603 - a fixed program, arguments from settings
        [pg_dump, *args, "--format=custom", "--no-owner", "--file", str(dump), settings.DATABASES["default"]["NAME"]],
        env=env,
        check=True,
        capture_output=True,
    )
    media = Path(settings.MEDIA_ROOT)
    if media.exists():
        shutil.copytree(media, target / "media")
    files = {str(path.relative_to(target)): _sha256(path) for path in sorted(target.rglob("*")) if path.is_file()}
    manifest = {"created_at": timezone.now().isoformat(), "files": files, "audit_checkpoint": checkpoint}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def backup_verify(*, source: Path) -> list[str]:
    """Problems found in a backup directory: missing, extra or changed files. Empty when intact."""
    manifest = json.loads((source / MANIFEST).read_text())
    problems = []
    present = {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()} - {MANIFEST}
    for name, digest in manifest["files"].items():
        path = source / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif _sha256(path) != digest:
            problems.append(f"changed: {name}")
    problems += [f"not in the manifest: {name}" for name in sorted(present - set(manifest["files"]))]
    return problems
