"""The referral package's format: its members, its manifest, its own SHA-256, and the offline check.

Pure (no database): `manage.py verify_referral` and the tests use it on a zip alone.

A package is one zip file holding:

    manifest.json                    every other member's path, SHA-256 and size, and the package's SHA-256
    package.json                     what the package documents: flag, operator, agency, referral time,
                                     the filings (with the SHA-256 recorded when each was uploaded), the
                                     transfer count, how it was built
    summary.pdf                      the summary in Russian (rendered on the server, DejaVu Sans fonts)
    flag.json                        the flag as stored: rule, subject, severity, status, evidence, decision
    flag_history.csv                 the flag's history (its audit events), one row per event
    transfers.csv                    the evidence transfers (formula-safe CSV, `;` and decimal comma)
    filings/<id>-<name>              each filing the flag rests on, byte for byte as the operator uploaded it
    audit_log/events.jsonl           the audit-log extract: the flag's events with their full hashed content
    audit_log/chain_segment.jsonl    the hash-chain segment: a header line (first event, chain head), then
                                     {"id", "prev_hash", "hash"} of EVERY event from the flag's first event
                                     to the chain head when the package was built (other events' content is
                                     not included: their links are enough to re-verify the chain offline)

An operator's package (casework.referrals.operator: a whole operator referred) has the same manifest, hash
rules and audit_log members; instead of flag.json and flag_history.csv it holds operator.json and, per
flag, flags/<id>.json and flags/<id>-history.csv (package.json: "kind": "operator").

The package's own SHA-256 (`package_sha256` in manifest.json, `sha256` in the API and the database) is
defined exactly as: the SHA-256 of the UTF-8 text made of one line per member other than manifest.json,
sorted by path (byte order), each line being the member's lowercase hex SHA-256, two spaces, its path and
a newline ("\\n") - the output of `sha256sum` on the unpacked members, so on a shell:

    cd unpacked && find . -type f ! -name manifest.json | sed 's|^\\./||' | LC_ALL=C sort \\
        | xargs -d '\\n' sha256sum | sha256sum

manifest.json is written canonically (`manifest_bytes`: sorted keys, two-space indent, UTF-8, final newline),
so any byte changed in it is seen: either the text is no longer canonical or a listed hash, size or the
package hash no longer agree.

`package_verify` checks, in this order, and names the first bad member: the zip is readable; manifest.json
is canonical, of this format and its package hash is the hash of its listing; the zip holds exactly the
listed members; each member's bytes have the listed SHA-256 and size; each filing's bytes have the SHA-256
the portal recorded at upload; the chain segment links (each prev_hash is the previous hash) up to the
head it names; each extracted event's content hashes (auditlog.chain.event_hash) to its hash, which the
segment holds at the same id.
"""

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime

from auditlog.chain import event_hash

FORMAT = "scc-referral-package/1"
MANIFEST = "manifest.json"
PACKAGE_JSON = "package.json"
SUMMARY = "summary.pdf"
FLAG_JSON = "flag.json"
HISTORY = "flag_history.csv"
TRANSFERS = "transfers.csv"
EVENTS = "audit_log/events.jsonl"
SEGMENT = "audit_log/chain_segment.jsonl"
HASH_DEFINITION = (
    "sha256 of the UTF-8 lines '<member sha256>  <member path>\\n' for every member except manifest.json, "
    "sorted by path (sha256sum format)"
)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_sha256(member_hashes: dict[str, str]) -> str:
    """The package's own SHA-256 from its members' hashes (manifest.json excluded): see the module docstring."""
    listing = "".join(f"{member_hashes[path]}  {path}\n" for path in sorted(member_hashes) if path != MANIFEST)
    return sha256_hex(listing.encode("utf-8"))


def canonical_json(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def manifest_for(members: list[tuple[str, bytes]]) -> dict:
    hashes = {path: sha256_hex(data) for path, data in members}
    return {
        "format": FORMAT,
        "hash_definition": HASH_DEFINITION,
        "members": [{"path": path, "sha256": hashes[path], "size": len(data)} for path, data in members],
        "package_sha256": package_sha256(hashes),
    }


def manifest_bytes(manifest: dict) -> bytes:
    return canonical_json(manifest)


def jsonl(rows) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n" for row in rows)


def package_zip(members: list[tuple[str, bytes]], *, when: datetime) -> tuple[bytes, dict]:
    """The zip of `members` (in this order) with manifest.json first; returns (zip bytes, manifest)."""
    paths = [path for path, _ in members]
    if len(set(paths)) != len(paths) or MANIFEST in paths:
        raise ValueError("member paths must be unique and not manifest.json")
    manifest = manifest_for(members)
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in [(MANIFEST, manifest_bytes(manifest)), *members]:
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue(), manifest


@dataclass(frozen=True)
class Verdict:
    ok: bool
    member: str = ""  # the first bad member ("" when intact)
    reason: str = ""
    package_sha256: str = ""
    members: int = 0


def _bad(member: str, reason: str, sha: str = "") -> Verdict:
    return Verdict(False, member, reason, sha)


def _read(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError):
        return None


def _manifest(archive: zipfile.ZipFile) -> tuple[dict | None, str]:
    raw = _read(archive, MANIFEST)
    if raw is None:
        return None, "missing or unreadable"
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = {m["path"]: m["sha256"] for m in manifest["members"]}
        if not all(isinstance(m["size"], int) and isinstance(m["path"], str) for m in manifest["members"]):
            return None, "not a manifest"
    except (ValueError, KeyError, TypeError):
        return None, "not a manifest"
    if manifest_bytes(manifest) != raw:
        return None, "not in its canonical form (changed)"
    if manifest.get("format") != FORMAT or manifest.get("hash_definition") != HASH_DEFINITION:
        return None, "unknown format"
    if len(listed) != len(manifest["members"]) or package_sha256(listed) != manifest.get("package_sha256"):
        return None, "its package SHA-256 does not match its listing (changed)"
    return manifest, ""


def _segment_check(raw: bytes) -> tuple[dict[int, tuple[str, str]] | None, str]:
    """The segment's links by id -> (prev_hash, hash), or None and why it does not hold."""
    try:
        lines = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
        header, links = lines[0], lines[1:]
        by_id, previous, last_id = {}, None, 0
        for link in links:
            if link["id"] <= last_id:
                return None, f"event ids out of order at #{link['id']}"
            if previous is not None and link["prev_hash"] != previous:
                return None, f"the chain breaks at event #{link['id']}"
            by_id[link["id"]] = (link["prev_hash"], link["hash"])
            previous, last_id = link["hash"], link["id"]
        if not links or links[0]["id"] != header["from_event_id"]:
            return None, "does not start at its first event"
        if last_id != header["head_event_id"] or previous != header["head_hash"]:
            return None, "does not end at the chain head it names"
    except (ValueError, KeyError, TypeError, IndexError):
        return None, "unreadable"
    return by_id, ""


def _events_check(raw: bytes, links: dict[int, tuple[str, str]]) -> str:
    try:
        for line in raw.decode("utf-8").splitlines():
            event = json.loads(line)
            content = event["content"]
            if event_hash(content) != event["hash"]:
                return f"event #{event['id']}: its content does not match its hash"
            if links.get(event["id"]) != (content["prev_hash"], event["hash"]):
                return f"event #{event['id']} is not in the chain segment"
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unreadable"
    return ""


def package_verify(data: bytes, *, expected_sha256: str = "") -> Verdict:
    """Check a package offline (see the module docstring for what, in which order)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return _bad("(zip)", "not a readable zip file")
    with archive:
        manifest, why = _manifest(archive)
        if manifest is None:
            return _bad(MANIFEST, why)
        sha = manifest["package_sha256"]
        listed = [m["path"] for m in manifest["members"]]
        names = archive.namelist()
        for name in names:
            if name != MANIFEST and name not in listed:
                return _bad(name, "not listed in the manifest (added)", sha)
        if len(names) != len(set(names)):
            return _bad(MANIFEST, "the zip holds a member twice", sha)
        contents = {}
        for member in manifest["members"]:
            raw = _read(archive, member["path"])
            if raw is None:
                return _bad(member["path"], "missing or unreadable", sha)
            if sha256_hex(raw) != member["sha256"]:
                return _bad(member["path"], "its SHA-256 differs from the manifest (changed)", sha)
            if len(raw) != member["size"]:
                return _bad(MANIFEST, f"the size listed for {member['path']} is wrong", sha)
            contents[member["path"]] = raw
    for required in (PACKAGE_JSON, SEGMENT, EVENTS):
        if required not in contents:
            return _bad(required, "missing", sha)
    try:
        filings = json.loads(contents[PACKAGE_JSON].decode("utf-8"))["filings"]
        for filing in filings:
            member = filing.get("member")
            if member and sha256_hex(contents.get(member, b"")) != filing["sha256"]:
                return _bad(member, "differs from the SHA-256 recorded when the filing was uploaded", sha)
    except (ValueError, KeyError, TypeError, AttributeError):
        return _bad(PACKAGE_JSON, "unreadable", sha)
    links, why = _segment_check(contents[SEGMENT])
    if links is None:
        return _bad(SEGMENT, why, sha)
    why = _events_check(contents[EVENTS], links)
    if why:
        return _bad(EVENTS, why, sha)
    if expected_sha256 and expected_sha256.lower() != sha:
        return _bad(MANIFEST, f"package SHA-256 {sha} is not the expected {expected_sha256}", sha)
    return Verdict(True, package_sha256=sha, members=len(contents))
