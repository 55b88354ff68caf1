"""Importing a list file: read it whole (formats/), then write the version and its entries in one
transaction. A malformed file raises ListFileError before anything is written; the same file
imported twice (same list, same SHA-256) is the version already there."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction

from auditlog.services import audit_event_record
from screening.formats import DEFAULT_NAMES, READERS, ListFileError
from screening.models import ListEntry, ListImport

BATCH = 2000


@dataclass
class ImportResult:
    list_import: ListImport
    created: bool


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def list_import_file(
    *, path: Path, format: str, list_name: str = "", source: str = "", actor: User | None = None, ip: str | None = None
) -> ImportResult:
    """Import one list file as a new version of `list_name` (the format's usual name when empty)."""
    if format not in READERS:
        raise ListFileError(f"unknown format {format!r}: one of {sorted(READERS)}")
    path = Path(path)
    sha256 = _sha256(path)
    list_name = list_name.strip() or DEFAULT_NAMES[format]
    existing = ListImport.objects.filter(list_name=list_name, sha256=sha256).first()
    if existing is not None:
        return ImportResult(existing, created=False)
    with path.open("rb") as stream:
        parsed = READERS[format](stream)
    ids = [e.entry_id for e in parsed.entries]
    if len(set(ids)) != len(ids):
        raise ListFileError("entry ids repeat in the file")
    with transaction.atomic():
        version = ListImport.objects.create(
            list_name=list_name,
            format=format,
            source=(source or path.name)[:500],
            sha256=sha256,
            published_on=parsed.published_on,
            imported_by=actor,
            entry_count=len(parsed.entries),
        )
        ListEntry.objects.bulk_create(
            (
                ListEntry(
                    list_import=version,
                    entry_id=e.entry_id[:200],
                    schema=e.schema,
                    caption=e.caption[:500],
                    names=e.names,
                    wallets=e.wallets,
                    domains=e.domains,
                    countries=e.countries,
                    programs=e.programs,
                    listed_on=e.listed_on,
                    content_hash=e.content_hash(),
                )
                for e in parsed.entries
            ),
            batch_size=BATCH,
        )
        audit_event_record(
            actor=actor,
            action="screening.list_import",
            obj=version,
            ip=ip,
            after={
                "list": list_name,
                "format": format,
                "sha256": sha256,
                "source": version.source,
                "entries": version.entry_count,
                "published_on": parsed.published_on,
            },
        )
    return ImportResult(version, created=True)


def lists_in_force() -> list[ListImport]:
    """The latest version of every list name (a handful of names: read in Python, SQLite too)."""
    latest: dict[str, ListImport] = {}
    for version in ListImport.objects.order_by("-imported_at", "-id"):
        latest.setdefault(version.list_name, version)
    return sorted(latest.values(), key=lambda v: v.list_name)
