"""Referring a whole operator (issue 18 item 5): one immutable package of its confirmed and referred flags,
in the flag package's format (manifest, package SHA-256, `verify_referral` exit 0 / exit 1 naming the
changed member); SCC only (operator staff 404, the service PermissionDenied); the API lists it to the
agency it was referred to and to no other; `export_referral --operator UNP` writes it."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from api.services import api_token_create
from auditlog.models import AuditEvent
from auditlog.services import audit_event_record
from audits.models import Flag
from audits.services import flag_confirm
from audits.services.state import flag_state
from casework.models import ReferralPackage
from casework.referrals import package as fmt
from casework.referrals.operator_services import operator_refer
from casework.referrals.package import package_verify
from casework.referrals.services import ReferralNotReady, referral_package_ensure
from tests.audits import helpers as h
from tests.casework import helpers as ch

pytestmark = pytest.mark.django_db
LIST = "/api/v1/referrals/"
REASON = "Систематический вывод средств на непроверенные платформы"


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    op, other = h.operator(), h.operator()
    auditor = h.user("aud", group="auditors")
    referred = ch.referred_flag(op=op, auditor=auditor, agency="fmd")
    referral_package_ensure(flag=referred)  # (its after-commit build does not run in a test transaction)
    confirmed = flag_confirm(flag=_another(referred, "a"), actor=auditor, note="подтверждено")
    still_open = _another(referred, "b")
    return {
        "op": op,
        "other": other,
        "auditor": auditor,
        "flags": (referred, confirmed, still_open),
        "staff": h.user("staff", operator=op),
    }


def _another(flag: Flag, mark: str) -> Flag:
    """An open flag of the same operator and evidence (another fingerprint)."""
    other = Flag.objects.create(
        operator=flag.operator,
        rule=flag.rule,
        fingerprint=mark * 64,
        subject=f"{flag.subject} {mark}",
        severity="medium",
        evidence=flag.evidence,
        material=flag.material,
    )
    audit_event_record(actor=None, action="flag.opened", obj=other, after=flag_state(other))
    return other


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _api(agency: str) -> APIClient:
    client = APIClient()
    key = api_token_create(name=f"agency {agency}", scopes=["referrals"], agency=agency).key
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_operator_package_holds_its_confirmed_and_referred_flags(world):
    referred, confirmed, still_open = world["flags"]
    package = operator_refer(operator=world["op"], agency="prosecutor", actor=world["auditor"], reason=REASON)
    assert package.flag_id is None
    assert package.operator_id == world["op"].pk
    assert package.agency == "prosecutor"
    data = bytes(package.content)
    verdict = package_verify(data, expected_sha256=package.sha256)
    assert verdict.ok, verdict
    members = _members(data)
    info = json.loads(members[fmt.PACKAGE_JSON])
    assert info["kind"] == "operator"
    assert info["flags"] == sorted([referred.pk, confirmed.pk])
    assert f"flags/{referred.pk}.json" in members
    assert f"flags/{confirmed.pk}-history.csv" in members
    assert f"flags/{still_open.pk}.json" not in members
    assert members[fmt.SUMMARY].startswith(b"%PDF")
    assert info["filings"]
    assert all(f["member"] in members for f in info["filings"])
    assert b"inv-1" in members[fmt.TRANSFERS]
    events = [json.loads(line) for line in members[fmt.EVENTS].decode().splitlines()]
    assert "operator.refer" in [e["content"]["action"] for e in events]
    assert AuditEvent.objects.filter(action="referral.package", object_id=str(package.pk)).exists()


def test_verify_and_export_command_exit_codes(world, tmp_path):
    package = operator_refer(operator=world["op"], agency="fmd", actor=world["auditor"], reason=REASON)
    path = tmp_path / "op.zip"
    call_command("export_referral", "--operator", world["op"].unp, "--out", str(path), stdout=io.StringIO())
    assert path.read_bytes() == bytes(package.content)
    call_command("verify_referral", str(path), "--sha256", package.sha256, stdout=io.StringIO())  # exit 0
    members = _members(path.read_bytes())
    name = next(n for n in members if n.startswith("flags/") and n.endswith(".json"))
    members[name] = members[name].replace(b'"severity"', b'"severitY"')
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
    with pytest.raises(CommandError) as exit_info:
        call_command("verify_referral", str(tampered), stdout=io.StringIO())
    assert exit_info.value.returncode == 1
    assert name in str(exit_info.value)
    # FLAG_ID form still works; neither form, or an operator never referred, is an error.
    with pytest.raises(CommandError):
        call_command("export_referral", "--out", str(path))
    with pytest.raises(CommandError):
        call_command("export_referral", "--operator", world["other"].unp, "--out", str(path))
    flag_path = tmp_path / "flag.zip"
    call_command("export_referral", str(world["flags"][0].pk), "--out", str(flag_path), stdout=io.StringIO())
    assert package_verify(flag_path.read_bytes()).ok


def test_only_the_scc_refers_an_operator(world):
    with pytest.raises(PermissionDenied):
        operator_refer(operator=world["op"], agency="fmd", actor=world["staff"], reason=REASON)
    with pytest.raises(ReferralNotReady):  # nothing confirmed or referred to refer
        operator_refer(operator=world["other"], agency="fmd", actor=world["auditor"], reason=REASON)
    url = f"/casework/referrals/operator/{world['op'].pk}/"
    staff = Client()
    staff.force_login(world["staff"])
    assert staff.post(url, {"agency": "fmd", "reason": REASON}).status_code == 404
    assert staff.get(f"/casework/referrals/operator/{world['op'].pk}.zip").status_code == 404
    assert not ReferralPackage.objects.filter(operator=world["op"]).exists()
    assert Client().post(url, {"agency": "fmd", "reason": REASON}).status_code == 302  # to the login page
    assert not ReferralPackage.objects.filter(operator=world["op"]).exists()


def test_dossier_action_refers_and_downloads(world):
    client = Client()
    client.force_login(world["auditor"])
    dossier = f"/operators/{world['op'].pk}/"
    page = client.get(dossier).content.decode()
    assert f'action="/casework/referrals/operator/{world["op"].pk}/"' in page
    response = client.post(f"/casework/referrals/operator/{world['op'].pk}/", {"agency": "tax", "reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == dossier
    package = ReferralPackage.objects.get(operator=world["op"])
    assert package.agency == "tax"
    assert AuditEvent.objects.filter(action="operator.refer", actor_id=world["auditor"].pk).count() == 1
    zip_url = f"/casework/referrals/operator/{world['op'].pk}.zip"
    assert zip_url in client.get(dossier).content.decode()
    download = client.get(zip_url)
    assert download.status_code == 200
    assert download["X-Package-SHA256"] == package.sha256
    assert package_verify(download.content).ok
    # No reason: refused, nothing written.
    client.post(f"/casework/referrals/operator/{world['op'].pk}/", {"agency": "tax", "reason": " "})
    assert ReferralPackage.objects.filter(operator=world["op"]).count() == 1


def test_api_lists_operator_packages_to_their_agency_only(world):
    package = operator_refer(operator=world["op"], agency="prosecutor", actor=world["auditor"], reason=REASON)
    rows = _api("prosecutor").get(LIST).json()["results"]
    mine = [r for r in rows if r["id"] == package.pk]
    assert len(mine) == 1
    assert mine[0]["kind"] == "operator"
    assert mine[0]["operator"] == world["op"].unp
    assert mine[0]["flag"] is None
    assert mine[0]["sha256"] == package.sha256
    # The flag package (referred to fmd) is not the prosecutor's; the fmd agency never sees the operator's.
    assert {r["kind"] for r in rows} == {"operator"}
    fmd = _api("fmd").get(LIST).json()["results"]
    assert package.pk not in [r["id"] for r in fmd]
    assert {r["kind"] for r in fmd} == {"flag"}
    file = _api("prosecutor").get(f"{LIST}files/{package.pk}/")
    assert file.status_code == 200
    assert package_verify(file.content, expected_sha256=package.sha256).ok
    assert _api("fmd").get(f"{LIST}files/{package.pk}/").status_code == 404


@pytest.mark.parametrize("principal", ["auditor", "supervisor", "staff", "other_staff", "stranger", "anonymous"])
def test_operator_referral_permission_matrix(world, principal):
    """Every role against the dossier action and the download: the SCC refers and downloads; operator
    staff (its own or another operator's) and users without a role 404; anonymous users the login page."""
    users = {
        "auditor": world["auditor"],
        "supervisor": h.user("sup", group="supervisors"),
        "staff": world["staff"],
        "other_staff": h.user("other", operator=world["other"]),
        "stranger": h.user("stranger"),
    }
    client = Client()
    if principal in users:
        client.force_login(users[principal])
    op = world["op"]
    refer = client.post(f"/casework/referrals/operator/{op.pk}/", {"agency": "fmd", "reason": REASON})
    download = client.get(f"/casework/referrals/operator/{op.pk}.zip")
    if principal in ("auditor", "supervisor"):
        assert refer.status_code == 302
        assert refer["Location"] == f"/operators/{op.pk}/"
        assert download.status_code == 200
        assert ReferralPackage.objects.filter(operator=op).count() == 1
        return
    if principal == "anonymous":
        assert "/login" in refer["Location"]
        assert "/login" in download["Location"]
    else:
        assert refer.status_code == 404
        assert download.status_code == 404
    assert not ReferralPackage.objects.filter(operator=op).exists()
    assert not AuditEvent.objects.filter(action="operator.refer").exists()
