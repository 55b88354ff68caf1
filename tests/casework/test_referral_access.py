"""Who gets a referral package: the flag page's download (SCC only) and /api/v1/referrals/ (scope
`referrals`: an agency token the packages referred to its own agency, with `updated_since`; operator
staff never, not even of the flag's own operator). Every pull and download is an audit event."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from api.services import api_token_create
from auditlog.models import AuditEvent
from casework.referrals.package import package_verify
from casework.referrals.services import referral_package_ensure
from tests.audits import helpers as h
from tests.casework import helpers as ch

pytestmark = pytest.mark.django_db
LIST = "/api/v1/referrals/"


@pytest.fixture
def world(settings):
    settings.OTP_REQUIRED_FOR_SCC = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    op, other = h.operator(), h.operator()
    auditor = h.user("aud", group="auditors")
    flag = ch.referred_flag(op=op, auditor=auditor, agency="fmd")
    package = referral_package_ensure(flag=flag)
    return {
        "op": op,
        "flag": flag,
        "package": package,
        "auditor": auditor,
        "staff": h.user("staff", operator=op),
        "other_staff": h.user("other", operator=other),
    }


def _api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _agency(scopes, agency="") -> APIClient:
    return _api(api_token_create(name=f"agency {agency} {scopes}", scopes=scopes, agency=agency).key)


def test_flag_page_links_the_package_and_the_scc_downloads_it(world):
    client = Client()
    client.force_login(world["auditor"])
    page = client.get(f"/audits/flags/{world['flag'].pk}/")
    assert page.status_code == 200
    url = f"/casework/referrals/flag/{world['flag'].pk}.zip"
    assert url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    verdict = package_verify(response.content)
    assert verdict.ok
    assert verdict.package_sha256 == world["package"].sha256
    assert AuditEvent.objects.filter(action="referral.download", actor_id=world["auditor"].pk).count() == 1


@pytest.mark.parametrize("who", ["staff", "other_staff"])
def test_operator_staff_never_get_a_package_page(world, who):
    client = Client()
    client.force_login(world[who])
    assert client.get(f"/casework/referrals/flag/{world['flag'].pk}.zip").status_code == 404


def test_anonymous_goes_to_login(world):
    response = Client().get(f"/casework/referrals/flag/{world['flag'].pk}.zip")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_agency_with_the_scope_lists_and_downloads_its_packages(world):
    client = _agency(["referrals"], agency="fmd")
    listed = client.get(LIST)
    assert listed.status_code == 200, listed.content
    [row] = listed.json()["results"]
    assert (row["id"], row["flag"], row["agency"], row["sha256"]) == (
        world["package"].pk,
        world["flag"].pk,
        "fmd",
        world["package"].sha256,
    )
    assert row["operator"] == world["op"].unp
    downloaded = client.get(f"{LIST}files/{row['id']}/")
    assert downloaded.status_code == 200
    assert package_verify(downloaded.content, expected_sha256=row["sha256"]).ok
    actions = list(AuditEvent.objects.filter(action__in=["api.pull.referrals", "api.download.referrals"]))
    assert [e.action for e in actions] == ["api.pull.referrals", "api.download.referrals"]
    assert actions[1].details["rows"] == 1


def test_updated_since(world):
    client = _agency(["referrals"], agency="fmd")
    before = (world["package"].created_at - timedelta(seconds=1)).isoformat()
    after = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert [r["id"] for r in client.get(LIST, {"updated_since": before}).json()["results"]] == [world["package"].pk]
    assert client.get(LIST, {"updated_since": after}).json()["results"] == []
    assert client.get(LIST, {"updated_since": ""}).status_code == 400


def test_agency_without_the_scope_is_refused(world):
    client = _agency(["flags", "transfers"], agency="fmd")
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}files/{world['package'].pk}/").status_code == 403


@pytest.mark.parametrize("agency", ["tax", ""])
def test_another_agency_sees_nothing(world, agency):
    client = _agency(["referrals"], agency=agency)
    assert client.get(LIST).json()["results"] == []
    assert client.get(f"{LIST}{world['package'].pk}/").status_code == 404
    assert client.get(f"{LIST}files/{world['package'].pk}/").status_code == 404


def test_scc_token_sees_every_package(world):
    key = api_token_create(name="scc", scopes=["referrals"], user=world["auditor"]).key
    assert [r["id"] for r in _api(key).get(LIST).json()["results"]] == [world["package"].pk]


@pytest.mark.parametrize("who", ["staff", "other_staff"])
def test_operator_staff_never_get_packages_over_the_api(world, who):
    key = api_token_create(name="op", scopes=["referrals", "flags"], user=world[who], operator=None).key
    assert _api(key).get(LIST).status_code == 403
    session = APIClient()
    session.force_login(world[who])
    assert session.get(LIST).status_code == 403
    assert session.get(f"{LIST}files/{world['package'].pk}/").status_code == 403


def test_supervisor_and_users_without_a_role(world):
    sup = h.user("sup", group="supervisors")
    client = Client()
    client.force_login(sup)
    assert client.get(f"/casework/referrals/flag/{world['flag'].pk}.zip").status_code == 200
    assert client.get("/casework/messages/").status_code == 200
    nobody = Client()
    nobody.force_login(h.user("nobody"))
    assert nobody.get(f"/casework/referrals/flag/{world['flag'].pk}.zip").status_code == 404
    assert nobody.get("/casework/messages/").status_code == 404
    session = APIClient()
    session.force_login(h.user("nobody2"))
    assert session.get(LIST).status_code == 403
