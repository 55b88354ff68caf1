"""The one access rule (operators/access.py), as a matrix: for every role, which operators, flags,
filings and transfers it sees, asked of the Access object itself, of the pages and of the API.

The three must agree with one table (`expected`): the pages and the API ask the Access and the
visibility functions beside each model, nothing else decides.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from api.access import access_for_token
from api.selectors import api_token_by_key_hash
from api.services import api_token_create, key_hash
from audits.models import Flag, FlagStatus
from audits.selectors import flags_visible
from filings.selectors import filing_errors_visible, filings_visible
from operators.access import AGENCY, AUDITOR, NONE, OPERATOR, access_for_user, access_of
from operators.models import FilingError, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer
from outflows.selectors import transfers_visible
from tests.api.conftest import client_with, make_transfers
from tests.factories import supervisor

KINDS = ("operators", "flags", "filings", "transfers")
SESSION_PRINCIPALS = ("auditor", "supervisor", "staff_a", "staff_b", "anonymous")
TOKEN_PRINCIPALS = ("auditor_token", "staff_a_token", "staff_b_token", "agency_all", "agency_no_flags", "anonymous")
ROLES = {
    "auditor": AUDITOR,
    "supervisor": AUDITOR,
    "auditor_token": AUDITOR,
    "staff_a": OPERATOR,
    "staff_a_token": OPERATOR,
    "staff_b": OPERATOR,
    "staff_b_token": OPERATOR,
    "agency_all": AGENCY,
    "agency_no_flags": AGENCY,
    "anonymous": NONE,
}
API_PATHS = {
    "operators": "/api/v1/operators/",
    "flags": "/api/v1/flags/",
    "filings": "/api/v1/filings/",
    "transfers": "/api/v1/transfers/",
}
PAGE_LISTS = {
    "operators": "/operators/",
    "flags": "/audits/flags/",
    "filings": "/filings/",
    "transfers": "/outflows/transfers/",
}
PAGE_DETAILS = {
    "operators": "/operators/{pk}/",
    "flags": "/audits/flags/{pk}/",
    "filings": "/filings/{pk}/",
}


@pytest.fixture
def matrix(world):
    """The API world plus what tells the rules apart: an open (unconfirmed) flag and transfers on
    both operators, a supervisor, and an agency token without the `flags` scope."""
    rule = world.flag_a.rule
    world.flag_a_open = Flag.objects.create(
        operator=world.op_a, rule=rule, fingerprint="c" * 64, subject="s", severity="high", status=FlagStatus.OPEN
    )
    make_transfers(world.op_b, world.filing_b, world.platform, 2, start=100)
    world.supervisor = supervisor()
    world.keys["agency_no_flags"] = world.keys["all-but:flags"]
    world.keys["auditor_token"] = world.keys["auditor"]
    world.keys["staff_a_token"] = world.keys["operator_a"]
    world.keys["staff_b_token"] = world.keys["operator_b"]
    return world


def _all(model) -> set[int]:
    return set(model.objects.values_list("pk", flat=True))


def expected(w, principal: str) -> dict[str, set[int]]:
    """DESIGN section 7 as one table: what each role sees of each kind."""
    role = ROLES[principal]
    if role in (AUDITOR, AGENCY):
        return {
            "operators": _all(Operator),
            "flags": _all(Flag),
            "filings": _all(RegistrationFiling),
            "transfers": _all(CrossBorderTransfer),
        }
    if principal.startswith("staff_a"):
        return {"operators": {w.op_a.pk}, "flags": {w.flag_a.pk}, "filings": {w.filing_a.pk}, "transfers": set()}
    if principal.startswith("staff_b"):
        return {"operators": {w.op_b.pk}, "flags": {w.flag_b.pk}, "filings": {w.filing_b.pk}, "transfers": set()}
    return {kind: set() for kind in KINDS}


def expected_scopes(principal: str) -> set[str]:
    role = ROLES[principal]
    if role == NONE:
        return set()
    if role == OPERATOR:
        return {"operators", "filings", "flags"}
    if principal == "agency_no_flags":
        return {"operators", "filings", "outflows", "transfers", "referrals"}
    return {"operators", "filings", "flags", "outflows", "transfers", "referrals"}


def user_of(w, principal: str):
    return {
        "auditor": w.auditor,
        "supervisor": w.supervisor,
        "staff_a": w.staff_a,
        "staff_b": w.staff_b,
        "anonymous": AnonymousUser(),
    }[principal]


def access_of_principal(w, principal: str):
    if principal in SESSION_PRINCIPALS:
        return access_for_user(user_of(w, principal))
    return access_for_token(api_token_by_key_hash(key_hash(w.keys[principal])))


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.parametrize("principal", sorted(set(SESSION_PRINCIPALS + TOKEN_PRINCIPALS)))
def test_access_object_sees_exactly_what_the_table_says(matrix, principal):
    access = access_of_principal(matrix, principal)
    want = expected(matrix, principal)
    assert access.role == ROLES[principal]
    assert set(access.scopes) == expected_scopes(principal)
    assert ids(access.operators(Operator.objects.all())) == want["operators"]
    assert ids(flags_visible(access=access)) == want["flags"]
    assert ids(filings_visible(access=access)) == want["filings"]
    assert ids(transfers_visible(access=access)) == want["transfers"]
    # Row errors follow their filing.
    assert ids(filing_errors_visible(access=access)) == ids(FilingError.objects.filter(filing__in=want["filings"]))
    assert access.can_review == (ROLES[principal] == AUDITOR)


def _page_ids(response) -> set[int]:
    return {obj.pk for obj in response.context["page"]}  # a numbered or a keyset page: both iterate their rows


@pytest.mark.parametrize("principal", SESSION_PRINCIPALS)
def test_pages_show_exactly_what_the_access_object_allows(matrix, principal, settings):
    settings.OTP_REQUIRED_FOR_SCC = False  # the second factor has its own tests
    client = Client()
    if principal != "anonymous":
        client.force_login(user_of(matrix, principal))
    want = expected(matrix, principal)
    for kind, url in PAGE_LISTS.items():
        response = client.get(url)
        if principal == "anonymous":
            assert response.status_code == 302, (kind, response.status_code)
            assert "/login" in response["Location"], kind
        elif kind == "transfers" and ROLES[principal] != AUDITOR:
            assert response.status_code in (403, 404), (kind, response.status_code)  # the SCC's page only
        else:
            assert response.status_code == 200, (kind, response.status_code)
            assert _page_ids(response) == want[kind], kind
    everything = expected(matrix, "auditor")
    for kind, url in PAGE_DETAILS.items():
        for pk in everything[kind]:
            response = client.get(url.format(pk=pk))
            if principal == "anonymous":
                assert response.status_code == 302, (kind, pk)
            else:
                assert response.status_code == (200 if pk in want[kind] else 404), (kind, pk, response.status_code)
    # The dossier lists the flags of its operator the caller may see (staff: confirmed only).
    if ROLES[principal] != NONE:
        for operator in (matrix.op_a, matrix.op_b):
            if operator.pk in want["operators"]:
                response = client.get(f"/operators/{operator.pk}/")
                shown = {flag.pk for flag in response.context["flags"]}
                assert shown == want["flags"] & ids(Flag.objects.filter(operator=operator)), operator


@pytest.mark.parametrize("principal", [*TOKEN_PRINCIPALS, "supervisor"])
def test_api_answers_exactly_what_the_access_object_allows(matrix, principal):
    if principal == "supervisor":  # the API from the browser: the session's Access
        client = client_with(None)
        client.force_login(matrix.supervisor)
    else:
        client = client_with(matrix.keys.get(principal))
    want = expected(matrix, principal)
    scopes = expected_scopes(principal) if principal != "supervisor" else expected_scopes("auditor_token")
    everything = expected(matrix, "auditor")
    for kind, url in API_PATHS.items():
        response = client.get(url)
        if principal == "anonymous":
            assert response.status_code == 401, (kind, response.status_code)
            continue
        if kind not in scopes:
            assert response.status_code == 403, (kind, response.status_code)
            continue
        assert response.status_code == 200, (kind, response.status_code)
        assert {row["id"] for row in response.json()["results"]} == want[kind], kind
        for pk in everything[kind]:
            detail = client.get(f"{url}{pk}/")
            assert detail.status_code == (200 if pk in want[kind] else 404), (kind, pk, detail.status_code)


def test_one_access_object_per_request(matrix):
    """Pages: computed once and cached on the request. API: the token's own, never the session's."""
    request = RequestFactory().get("/")
    request.user = matrix.staff_a
    first = access_of(request)
    assert access_of(request) is first
    assert first.operator_ids == (matrix.op_a.pk,)

    # A browser session of staff B calling the API with an agency token is the agency.
    created = api_token_create(name="NB flags", scopes=["flags"])
    client = client_with(created.key)
    client.force_login(matrix.staff_b)
    response = client.get("/api/v1/flags/")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == _all(Flag)
