"""Tokens: the key is shown once and stored only as a hash; the command and the admin issue them."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiToken
from tests.api.conftest import client_with
from tests.factories import auditor, supervisor


def test_create_agency_token_prints_a_working_key_once(db):
    out, err = StringIO(), StringIO()
    call_command("create_agency_token", "National Bank", "--scopes", "outflows,transfers", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(name="National Bank")
    assert token.scopes == ["outflows", "transfers"]
    assert token.kind == "agency"
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix)
    assert key not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert token.expires_at is not None
    client = client_with(key)
    assert client.get("/api/v1/outflows/stats/").status_code == 200
    assert client.get("/api/v1/operators/").status_code == 403


@pytest.mark.parametrize("scopes", ["", "operators,galaxies"])
def test_create_agency_token_refuses_unknown_scopes(db, scopes):
    with pytest.raises(CommandError):
        call_command("create_agency_token", "X", "--scopes", scopes, stdout=StringIO(), stderr=StringIO())


def test_supervisor_issues_a_token_in_the_admin_and_sees_the_key_once(db, client):
    client.force_login(supervisor())
    response = client.post(
        "/admin/api/apitoken/add/",
        {"name": "FMD", "scopes": ["flags", "filings"], "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="FMD")
    messages = [str(m) for m in response.context["messages"]]
    keys = [m.rsplit(" ", 1)[-1] for m in messages if "показывается один раз" in m]  # in the page language
    assert len(keys) == 1
    assert hashlib.sha256(keys[0].encode()).hexdigest() == token.key_hash
    assert token.scopes == ["filings", "flags"]
    page = client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert keys[0] not in page


def test_auditors_cannot_manage_tokens(db, client):
    client.force_login(auditor(is_staff=True))
    assert client.get("/admin/api/apitoken/").status_code == 403


def test_revoke_action(db, client, world):
    client.force_login(supervisor())
    token = ApiToken.objects.get(name="NB all")
    response = client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Отозваны токены: «NB all»."]
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client_with(world.keys["agency_all"]).get("/api/v1/operators/").status_code == 401
