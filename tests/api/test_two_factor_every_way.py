"""The second factor guards every way in (issue 14, item 1).

Walks every URL pattern of the project (pages, exports, the admin, the API and its
browsable pages) as an auditor and a supervisor who typed only their password, with
real objects behind every id, and fails on any 2xx answer that carries data. Token
requests are unaffected; a verified session reaches the API as before.
"""

import re

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tests.factories import supervisor

# Answers that hold no data, whoever asks: the two-factor page itself, logging in and out,
# the language switch, the health probe, what a browser fetches on its own (icon, robots).
OPEN = ("/accounts/", "/i18n/", "/healthz", "/favicon.ico", "/robots.txt")


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def _admin_object_id(route: str) -> str:
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return "1"
    try:
        model = apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return "1"
    first = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
    return str(first) if first is not None else "1"


def concrete_paths(ids: dict[str, int]) -> list[str]:
    """Every URL pattern with its arguments filled by real ids (by argument name)."""
    paths = set()
    for route in _walk(get_resolver().url_patterns):
        if route.endswith(r"^[\s\S]*$"):  # the API's catch-all 404
            continue
        path = route.replace("^", "").replace("$", "").replace("/?", "/").replace(r"\.", ".")
        path = re.sub(r"\(\?P<format>[^)]*\)", "json", path)
        path = re.sub(
            r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>",
            lambda m, route=route: str(ids.get(m.group(1) or m.group(2), "")) or _admin_object_id(route),
            path,
        )
        path = path.replace("dossier.json", "dossier.csv").replace("errors.json", "errors.csv")
        paths.add("/" + path)
    return sorted(paths)


@pytest.fixture
def ids(world) -> dict[str, int]:
    from audits.models import FlagNote

    note = FlagNote.objects.create(flag=world.flag_a, author=world.staff_a, text="answer")
    return {
        "pk": world.op_a.pk,
        "filing_pk": world.filing_a.pk,
        "note_pk": note.pk,
        "fmt": "csv",
        "id": world.auditor.pk,
    }


def _ids_for(path_kind: str, world, ids: dict) -> dict:
    """`pk` means the object of the page it belongs to."""
    by_prefix = {
        "/filings/": world.filing_a.pk,
        "/audits/flags/": world.flag_a.pk,
        "/outflows/runs/": world.run.pk,
        "/api/v1/filings/": world.filing_a.pk,
        "/api/v1/flags/": world.flag_a.pk,
        "/api/v1/transfers/": world.transfer_a.pk,
        "/api/v1/outflows/runs/": world.run.pk,
        "/api/v1/platforms/": world.platform.pk,
    }
    for prefix, pk in by_prefix.items():
        if path_kind.startswith(prefix):
            return {**ids, "pk": pk}
    return ids


def _paths(world, ids) -> list[str]:
    out = []
    for template in concrete_paths({**ids, "pk": "{pk}"}):
        pk = _ids_for(template, world, ids)["pk"]
        out.append(template.replace("{pk}", str(pk)))
    return out


def _has_data(response) -> bool:
    return 200 <= response.status_code < 300


@pytest.mark.parametrize("role", ["auditor", "supervisor"])
def test_a_password_only_session_reaches_no_data_anywhere(world, ids, role, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    user = world.auditor if role == "auditor" else supervisor()
    client = APIClient()
    client.force_login(user)  # the password was typed; no TOTP code yet
    paths = _paths(world, ids)
    assert len(paths) > 150  # pages, exports, admin and API: the walk found them all
    leaked = []
    for path in paths:
        if path.startswith(OPEN):
            continue
        for method in ("get", "head", "options"):
            response = getattr(client, method)(path)
            if _has_data(response):
                leaked.append(f"{method.upper()} {path} -> {response.status_code}")
        response = client.post(path, {})
        if _has_data(response) or (response.status_code == 302 and "two-factor" not in response["Location"]):
            leaked.append(f"POST {path} -> {response.status_code}")
    assert leaked == []


def test_the_api_answers_a_password_only_session_with_403_and_its_error_body(world, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    client = APIClient()
    client.force_login(world.auditor)
    for path in ("/api/v1/transfers/", "/api/v1/flags/", "/api/v1/filings/", "/api/v1/outflows/stats/"):
        response = client.get(path)
        assert response.status_code == 403
        assert response.json()["code"] == "two_factor_required"
        browsable = client.get(path, HTTP_ACCEPT="text/html")
        assert browsable.status_code == 403


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def test_after_the_code_the_session_reaches_the_api(world, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    device = TOTPDevice.objects.create(user=world.auditor, name="phone", confirmed=True)
    client = APIClient()
    client.force_login(world.auditor)
    client.post("/accounts/two-factor/", {"token": _code(device)})
    assert client.get("/api/v1/transfers/").status_code == 200


def test_token_requests_are_unaffected_by_a_password_only_session(world, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    client = APIClient()
    client.force_login(world.auditor)
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.keys['agency_all']}")
    assert client.get("/api/v1/transfers/").status_code == 200
