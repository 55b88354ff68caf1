"""The permission matrix of DESIGN section 7 for the API, generated from one table."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import TRANSFER_CSV, client_with

PRINCIPALS = [
    "anonymous",
    "agency_scoped",
    "agency_unscoped",
    "expired",
    "revoked",
    "operator_a",
    "operator_b",
    "auditor",
]


def reads(scope: str, operator_a: int, operator_b: int) -> dict:
    """A read endpoint: agencies and the auditor by scope; operator staff as given."""
    return {
        "scope": scope,
        "anonymous": 401,
        "agency_scoped": 200,
        "agency_unscoped": 403,
        "expired": 401,
        "revoked": 401,
        "operator_a": operator_a,
        "operator_b": operator_b,
        "auditor": 200,
    }


# (name, method, url of the world, expected statuses). Objects are operator A's.
ENDPOINTS = [
    ("operators list", "get", lambda w: "/api/v1/operators/", reads("operators", 200, 200)),
    ("operator detail", "get", lambda w: f"/api/v1/operators/{w.op_a.pk}/", reads("operators", 200, 404)),
    ("platforms list", "get", lambda w: "/api/v1/platforms/", reads("operators", 200, 200)),
    ("platform detail", "get", lambda w: f"/api/v1/platforms/{w.platform.pk}/", reads("operators", 200, 200)),
    ("filings list", "get", lambda w: "/api/v1/filings/", reads("filings", 200, 200)),
    ("filing detail", "get", lambda w: f"/api/v1/filings/{w.filing_a.pk}/", reads("filings", 200, 404)),
    ("filing errors", "get", lambda w: f"/api/v1/filings/{w.filing_a.pk}/errors/", reads("filings", 200, 404)),
    (
        "filing submit (dry run)",
        "post",
        lambda w: "/api/v1/filings/?dry_run=1",
        {**reads("filings", 200, 404), "agency_scoped": 403, "auditor": 403},
    ),
    ("flags list", "get", lambda w: "/api/v1/flags/", reads("flags", 200, 200)),
    ("flag detail", "get", lambda w: f"/api/v1/flags/{w.flag_a.pk}/", reads("flags", 200, 404)),
    ("transfers list", "get", lambda w: "/api/v1/transfers/", reads("transfers", 403, 403)),
    ("transfer detail", "get", lambda w: f"/api/v1/transfers/{w.transfer_a.pk}/", reads("transfers", 403, 403)),
    ("outflow runs list", "get", lambda w: "/api/v1/outflows/runs/", reads("outflows", 403, 403)),
    ("outflow run detail", "get", lambda w: f"/api/v1/outflows/runs/{w.run.pk}/", reads("outflows", 403, 403)),
    ("outflow stats", "get", lambda w: "/api/v1/outflows/stats/", reads("outflows", 403, 403)),
]

CASES = [
    pytest.param(name, method, url, expected["scope"], principal, expected[principal], id=f"{name}-{principal}")
    for name, method, url, expected in ENDPOINTS
    for principal in PRINCIPALS
]


def _key(world, principal: str, scope: str) -> str | None:
    return {
        "anonymous": None,
        "agency_scoped": world.keys[f"only:{scope}"],
        "agency_unscoped": world.keys[f"all-but:{scope}"],
    }.get(principal, world.keys.get(principal))


@pytest.mark.parametrize(("name", "method", "url", "scope", "principal", "expected"), CASES)
def test_permission_matrix(world, name, method, url, scope, principal, expected):
    client = client_with(_key(world, principal, scope))
    if method == "post":
        data = {
            "operator": world.op_a.pk,
            "kind": "transfer_register",
            "period_start": "2025-03-01",
            "period_end": "2025-03-31",
            "file": SimpleUploadedFile("t.csv", TRANSFER_CSV),
        }
        response = client.post(url(world), data, format="multipart")
    else:
        response = client.get(url(world))
    assert response.status_code == expected, response.content[:500]
    body = response.json()
    if expected >= 400:
        assert body["status"] == expected
        assert body["code"]
        assert body["detail"]
    if expected == 401:
        assert response["WWW-Authenticate"] == "Token"


def test_operator_staff_list_only_their_own(world):
    client = client_with(world.keys["operator_b"])
    operators = client.get("/api/v1/operators/").json()["results"]
    assert [o["unp"] for o in operators] == [world.op_b.unp]
    filings = client.get("/api/v1/filings/").json()["results"]
    assert [f["id"] for f in filings] == [world.filing_b.pk]
    flags = client.get("/api/v1/flags/").json()["results"]
    assert [f["id"] for f in flags] == [world.flag_b.pk]


def test_operator_staff_see_only_confirmed_flags(world):
    world.flag_a.status = "open"
    world.flag_a.save()
    client = client_with(world.keys["operator_a"])
    assert client.get("/api/v1/flags/").json()["results"] == []
    assert client.get(f"/api/v1/flags/{world.flag_a.pk}/").status_code == 404
    # The auditor and agencies see every status.
    assert client_with(world.keys["agency_all"]).get(f"/api/v1/flags/{world.flag_a.pk}/").status_code == 200


def test_operator_token_stops_when_staff_leaves_operator(world):
    world.staff_a.memberships.all().delete()
    response = client_with(world.keys["operator_a"]).get("/api/v1/operators/")
    assert response.status_code == 403


def test_browser_session_of_auditor_reads(world, client):
    client.force_login(world.auditor)
    assert client.get("/api/v1/transfers/").status_code == 200


def test_agency_cannot_write_anything(world):
    client = client_with(world.keys["agency_all"])
    assert client.delete(f"/api/v1/filings/{world.filing_a.pk}/").status_code in (403, 405)
    assert client.put(f"/api/v1/operators/{world.op_a.pk}/", {}).status_code in (403, 405)


@pytest.mark.parametrize(
    "header", ["Token", "Token a b", "Token nonsense", "Bearer x", "Token " + "x" * 500, "Token \u00e9"]
)
def test_bad_headers_are_401_never_500(world, header):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/operators/")
    assert response.status_code == 401
    assert response.json()["status"] == 401


def test_unknown_api_url_is_json_404(world):
    response = client_with(world.keys["agency_all"]).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_last_used_is_recorded(world):
    from api.models import ApiToken

    client_with(world.keys["only:operators"]).get("/api/v1/operators/")
    token = ApiToken.objects.get(name="only operators")
    assert token.last_used_at is not None
