"""Referral packages (issue 18 item 5): built when a referral takes effect, immutable, verified offline
(exit 0 intact; exit 1 naming the first bad member for a changed filing, CSV, PDF, manifest or chain segment)."""

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction

from auditlog.chain import event_hash
from casework.models import ImmutableError, ReferralPackage
from casework.referrals import package as fmt
from casework.referrals.services import ReferralNotReady, referral_package_ensure
from tests.casework import helpers as ch

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _flip(data: bytes, at: int | None = None) -> bytes:
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _reseal(members: dict[str, bytes]) -> dict[str, bytes]:
    """A forger's package: members changed and manifest.json rebuilt to match them."""
    body = [(name, data) for name, data in members.items() if name != fmt.MANIFEST]
    return {fmt.MANIFEST: fmt.manifest_bytes(fmt.manifest_for(body)), **dict(body)}


@pytest.fixture
def package():
    with transaction.atomic():
        flag = ch.referred_flag()
    return referral_package_ensure(flag=flag)


def test_referral_builds_its_package_when_it_takes_effect(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        flag = ch.referred_flag()
    package = ReferralPackage.objects.get(flag=flag)
    assert (package.agency, package.referred_at) == ("fmd", flag.decided_at)
    # Asked again (the flag page, the command): the same package, not a second one.
    assert referral_package_ensure(flag=flag).pk == package.pk
    assert ReferralPackage.objects.filter(flag=flag).count() == 1


def test_only_a_referred_flag_has_a_package():
    flag = ch.flag_with_evidence()
    with pytest.raises(ReferralNotReady):
        referral_package_ensure(flag=flag)


def test_package_contents(package):
    data = bytes(package.content)
    members = _members(data)
    manifest = json.loads(members[fmt.MANIFEST])
    assert (
        manifest["package_sha256"]
        == package.sha256
        == fmt.package_sha256({name: fmt.sha256_hex(body) for name, body in members.items() if name != fmt.MANIFEST})
    )
    assert package.zip_sha256 == fmt.sha256_hex(data)
    listed = [m["path"] for m in manifest["members"]]
    assert sorted(listed) == sorted(set(members) - {fmt.MANIFEST})
    for name in (fmt.SUMMARY, fmt.PACKAGE_JSON, fmt.FLAG_JSON, fmt.HISTORY, fmt.TRANSFERS, fmt.EVENTS, fmt.SEGMENT):
        assert name in members, name
    assert members[fmt.SUMMARY].startswith(b"%PDF-")
    # The original filing, byte for byte, with the SHA-256 recorded at upload.
    info = json.loads(members[fmt.PACKAGE_JSON])
    [filing] = info["filings"]
    assert members[filing["member"]] == ch.FILING_BYTES
    assert filing["sha256"] == fmt.sha256_hex(ch.FILING_BYTES)
    assert filing["member"].startswith(f"filings/{filing['id']}-")
    # The evidence transfers as formula-safe CSV (the project's export writer: `;`, decimal comma).
    transfers = members[fmt.TRANSFERS].decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in transfers
    assert "\n=HYPERLINK" not in transfers
    assert ";=HYPERLINK" not in transfers
    assert "100,50" in transfers
    assert info["transfers"] == {"rows": 2, "truncated": False, "limit": 50000}
    # History and the audit-log extract: the opening and the referral, re-verifiable from their content.
    assert "flag.refer" in members[fmt.HISTORY].decode("utf-8-sig")
    events = [json.loads(line) for line in members[fmt.EVENTS].decode().splitlines()]
    assert [e["content"]["action"] for e in events] == ["flag.opened", "flag.refer"]
    assert all(event_hash(e["content"]) == e["hash"] for e in events)
    segment = [json.loads(line) for line in members[fmt.SEGMENT].decode().splitlines()]
    assert segment[0]["from_event_id"] == events[0]["id"] == segment[1]["id"]
    assert segment[-1]["hash"] == segment[0]["head_hash"]
    assert fmt.package_verify(data).ok


def test_package_is_immutable(package):
    with pytest.raises(ImmutableError):
        package.save()
    with pytest.raises(ImmutableError):
        package.delete()
    # Past the model too: the database refuses (PostgreSQL trigger).
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralPackage.objects.filter(pk=package.pk).update(sha256="0" * 64)
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralPackage.objects.filter(pk=package.pk)._raw_delete(ReferralPackage.objects.db)


def _verify(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "verify_referral", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_export_then_verify_exit_codes(package, tmp_path):
    out = tmp_path / "package.zip"
    call_command("export_referral", str(package.flag_id), "--out", str(out))
    assert out.read_bytes() == bytes(package.content)
    intact = _verify(out)
    assert intact.returncode == 0, intact.stderr
    assert package.sha256 in intact.stdout
    members = _members(out.read_bytes())
    filing = next(name for name in members if name.startswith("filings/"))
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_rezip({**members, filing: _flip(members[filing])}))
    broken = _verify(bad)
    assert broken.returncode == 1
    assert f"bad member {filing}" in broken.stderr


def test_export_of_a_flag_not_referred_fails(tmp_path):
    flag = ch.flag_with_evidence()
    with pytest.raises(CommandError, match="not referred"):
        call_command("export_referral", str(flag.pk), "--out", str(tmp_path / "x.zip"))


@pytest.mark.parametrize(
    "member",
    [fmt.TRANSFERS, fmt.SUMMARY, fmt.SEGMENT, fmt.EVENTS, fmt.HISTORY, fmt.FLAG_JSON, fmt.PACKAGE_JSON, "filing"],
)
def test_any_changed_byte_of_a_member_names_it(package, tmp_path, member):
    members = _members(bytes(package.content))
    if member == "filing":
        member = next(name for name in members if name.startswith("filings/"))
    for at in (0, len(members[member]) // 2, len(members[member]) - 1):
        path = tmp_path / "bad.zip"
        path.write_bytes(_rezip({**members, member: _flip(members[member], at)}))
        with pytest.raises(CommandError, match=re.escape(f"bad member {member}:")) as caught:
            call_command("verify_referral", str(path))
        assert caught.value.returncode == 1


def test_any_changed_byte_of_the_manifest_names_it(package, tmp_path):
    members = _members(bytes(package.content))
    manifest = members[fmt.MANIFEST]
    sha = json.loads(manifest)["package_sha256"]
    positions = [0, len(manifest) // 3, len(manifest) // 2, manifest.index(sha.encode()) + 5, len(manifest) - 2]
    for at in positions:
        path = tmp_path / "bad.zip"
        path.write_bytes(_rezip({**members, fmt.MANIFEST: _flip(manifest, at)}))
        with pytest.raises(CommandError, match=r"bad member manifest\.json") as caught:
            call_command("verify_referral", str(path))
        assert caught.value.returncode == 1


def test_a_resealed_forgery_is_still_caught(package, tmp_path):
    """A forger who rebuilds manifest.json: the filing's recorded hash, the chain links and the events'
    hashes still name what was changed."""
    members = _members(bytes(package.content))
    filing = next(name for name in members if name.startswith("filings/"))
    cases = {filing: {filing: members[filing] + b"T9;2025-06-02;OUT\n"}}
    segment = members[fmt.SEGMENT].decode().splitlines()
    link = json.loads(segment[1])
    link["hash"] = "f" * 64
    cases[fmt.SEGMENT] = {fmt.SEGMENT: "\n".join([segment[0], json.dumps(link), *segment[2:]]).encode() + b"\n"}
    event = json.loads(members[fmt.EVENTS].decode().splitlines()[0])
    event["content"]["actor_username"] = "someone-else"
    rest = members[fmt.EVENTS].decode().splitlines()[1:]
    cases[fmt.EVENTS] = {fmt.EVENTS: "\n".join([json.dumps(event), *rest]).encode() + b"\n"}
    for name, change in cases.items():
        path = tmp_path / "forged.zip"
        path.write_bytes(_rezip(_reseal({**members, **change})))
        with pytest.raises(CommandError, match=re.escape(f"bad member {name}:")):
            call_command("verify_referral", str(path))
        # ... and the SHA-256 the SCC published tells the forgery from the original.
        intact = tmp_path / "intact.zip"
        intact.write_bytes(_rezip(_reseal(members)))
        call_command("verify_referral", str(intact), "--sha256", package.sha256)


def test_added_member_and_garbage_are_named(package, tmp_path):
    members = _members(bytes(package.content))
    path = tmp_path / "extra.zip"
    path.write_bytes(_rezip({**members, "extra.txt": b"x"}))
    with pytest.raises(CommandError, match=r"bad member extra\.txt"):
        call_command("verify_referral", str(path))
    path.write_bytes(b"not a zip")
    with pytest.raises(CommandError, match=r"bad member \(zip\)"):
        call_command("verify_referral", str(path))


def test_a_flipped_byte_in_the_zip_file_itself_names_its_member(package, tmp_path):
    """Not rewritten by a tool: one byte of the stored (compressed) data of each member flipped in place."""
    data = bytes(package.content)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
    for info in infos:
        name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
        extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
        start = info.header_offset + 30 + name_len + extra_len
        path = tmp_path / "flipped.zip"
        path.write_bytes(_flip(data, start + info.compress_size // 2))
        with pytest.raises(CommandError, match=re.escape(f"bad member {info.filename}:")):
            call_command("verify_referral", str(path))
