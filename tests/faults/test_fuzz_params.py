"""Every page and API list of the portal, with hostile parameters: a 4xx or a page, never a 5xx.

The URL patterns are walked from the resolver (a new page is fuzzed without being listed here), their
path arguments filled with the ids of a small dataset. Each page is opened by every role; a page a role
can open is then fuzzed: every parameter name it uses (its GET forms and the query strings of its links,
so an admin changelist's filters too), the common ones and an unknown one, each with every hostile value.
"""

import base64
import html
import re
import time
from urllib.parse import parse_qsl, quote

import pytest
from django.contrib.admin.sites import site as admin_site
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from api import filters as api_filters
from audits.models import FlagNote, NoteKind
from outflows.inputs import RunInputs, run_inputs_store
from tests.api import conftest as api_world
from tests.factories import supervisor

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]
# The API tests' small world (two operators with staff, an auditor, data of every kind, tokens).
world, _fresh_cache, _fast_passwords = api_world.world, api_world._fresh_cache, api_world._fast_passwords


def _cursor(raw: str) -> str:
    return quote(base64.b64encode(raw.encode()).decode())


# Already percent-encoded: sent as they are, so a byte that is not UTF-8 reaches the portal as such.
VALUES = {
    "nul": "%00",
    "nul_inside": "ab%00cd",
    "control": "a%1B%07b",
    "not_utf8": "%ff%fe",
    "overlong": "x" * 10_000,
    "sql": quote("' OR 1=1 --"),
    "negative": "-1",
    "huge": "9" * 30,
    "float": "1e400",
    "bad_date": "2025-13-45T25:61",
    "bad_offset": quote("0255-05-11T03:57:58-22:41"),
    "year_one": quote("0001-01-01T00:00:00+14:00"),
    "bad_cursor": _cursor("p=abc"),
    "superscript": quote("²"),  # str.isdigit() says yes, int() says no
}
COMMON = ("q", "page", "p", "cursor", "o", "ordering", "sort", "updated_since", "zz_unknown")
# Alone on every page that reads filters (the rest of COMMON goes with the page's own names at once).
PAGE_COMMON = ("q", "page", "sort", "zz_unknown")
API_COMMON = ("cursor", "page_size", "updated_since", "ordering", "format", "zz_unknown")
# Not fuzzed: a GET that would end the session, and the catch-all of unknown API paths (tested below).
SKIP = {"logout", "admin:logout"}
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)
_LINK_QUERY = re.compile(r"href=\"[^\"]*\?([^\"#]*)\"", re.I)


def _patterns(patterns=None, namespace=""):
    """(name with namespace, pattern, callback) of every URL pattern."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), entry


def _admin_object_id(name: str) -> str:
    """The first object of the model an admin URL name belongs to (admin:<app>_<model>_<view>)."""
    for model in admin_site._registry:
        if name.startswith(f"admin:{model._meta.app_label}_{model._meta.model_name}_"):
            obj = model._default_manager.order_by("pk").first()
            return str(obj.pk) if obj is not None else "1"
    pytest.fail(f"no admin model for {name}")


def _api_pk(callback, w) -> str:
    model = callback.cls.queryset.model if getattr(callback.cls, "queryset", None) is not None else None
    by_model = {
        "Operator": w.op_a.pk,
        "ForeignPlatform": w.platform.pk,
        "RegistrationFiling": w.filing_a.pk,
        "Flag": w.flag_a.pk,
        "CrossBorderTransfer": w.transfer_a.pk,
        "OutflowRun": w.run.pk,
    }
    return str(by_model.get(model.__name__ if model else "", 1))


def _urls(w, note) -> list[tuple[str, str]]:
    """(pattern name, concrete URL) for every pattern; fmt and format take each of their values."""
    site_ids = {
        "operators:detail": w.op_a.pk,
        "operators:dossier_export": w.op_a.pk,
        "filings:detail": w.filing_a.pk,
        "filings:error_report": w.filing_a.pk,
        "filings:file": w.filing_a.pk,
        "filings:progress": w.filing_a.pk,
        "audits:flag_detail": w.flag_a.pk,
        "audits:answer_attachment": w.flag_a.pk,
        "outflows:run": w.run.pk,
        "casework:request_close": 999_999,  # none exists: the 404 path, under hostile parameters
        "casework:attachment": 999_999,
        "screening:decide": 999_999,  # a decision is a POST: GET under hostile parameters is refused
    }
    urls = []
    for name, pattern in _patterns():
        if name in SKIP:
            continue
        if name is None:  # the API's catch-all for unknown paths
            urls.append(("api:unknown", "/api/no/such/path/"))
            continue
        choices: dict[str, list[str]] = {}
        for arg in pattern.pattern.regex.groupindex:
            if arg == "fmt":
                choices[arg] = ["csv", "xlsx"]
            elif arg == "format":
                choices[arg] = ["json", "api"]
            elif arg == "app_label":
                labels = re.search(r"\(\?P<app_label>([^)]*)\)", pattern.pattern.regex.pattern).group(1)
                choices[arg] = labels.split("|")[:1]
            elif arg == "object_id" and name == "admin:view_on_site":
                choices[arg] = [str(w.op_a.pk)]
            elif arg in ("object_id", "pk", "id") and name.startswith("admin:"):
                choices[arg] = [_admin_object_id(name)]
            elif arg == "content_type_id":
                choices[arg] = [str(ContentType.objects.get_for_model(type(w.op_a)).pk)]
            elif arg == "note_pk":
                choices[arg] = [str(note.pk)]
            elif arg == "filing_pk":
                choices[arg] = [str(w.filing_a.pk)]
            elif arg == "run_pk":  # the filings an outflow run read
                choices[arg] = [str(w.run.pk)]
            elif arg == "flag_pk":
                choices[arg] = [str(w.flag_a.pk)]
            elif arg == "operator_pk":
                choices[arg] = [str(w.op_a.pk)]
            elif arg == "token":  # a dry run's kept file or an upload form's status: an unknown one
                choices[arg] = ["no-such-token"]
            elif arg == "kind":
                choices[arg] = ["transfer_register"]
            elif arg == "code":  # a rule's versions page (issue 19 item 3)
                choices[arg] = ["HIGH_NON_RETURN"]
            elif arg == "number":
                choices[arg] = ["1"]
            elif arg == "pk" and name.startswith(("api:", "api-referrals:")):
                choices[arg] = [_api_pk(pattern.callback, w)]
            elif arg == "pk":
                choices[arg] = [str(site_ids[name])]
            else:
                pytest.fail(f"no value for the path argument {arg!r} of {name}: add one to this test")
        combos = [{}]
        for arg, values in choices.items():
            combos = [{**c, arg: v} for c in combos for v in values]
        for kwargs in combos:
            urls.append((name, reverse(name, kwargs=kwargs)))
    return urls


def _verified_client(user, client_class=Client) -> Client:
    """Logged in with the password and a confirmed TOTP device, as a real auditor or supervisor is."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = client_class(raise_request_exception=False)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def _parameter_names(body: str) -> set[str]:
    """Names a page asks for: the fields of its GET forms and the query parameters of its links."""
    names = set()
    for attrs, inner in _FORM.findall(body):
        if "post" not in attrs.lower():
            names.update(_FIELD.findall(inner))
    for query in _LINK_QUERY.findall(body):
        names.update(name for name, _value in parse_qsl(html.unescape(query), keep_blank_values=True))
    return {n for n in names if n != "csrfmiddlewaretoken" and len(n) < 64}


class Probe:
    def __init__(self):
        self.failures: list[str] = []
        self.requests = 0

    def get(self, client, url: str, query: str = "", **extra):
        self.requests += 1
        full = f"{url}?{query}" if query else url
        try:
            # A savepoint per request, as each request is its own transaction in production: one
            # database error must not abort the test's transaction for every request after it.
            with transaction.atomic():
                response = client.get(full, **extra)
        except DatabaseError as exc:  # swallowed by the view, then the transaction could not go on
            self.failures.append(f"{exc.__class__.__name__} {full[:160]}")
            return None
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {full[:160]}")
        return response

    def fuzz(self, client, url: str, names, **extra) -> None:
        """Each name with each value alone: one bad filter cannot hide another (a 400 stops at the first)."""
        for name in sorted(names):
            for value in VALUES.values():
                self.get(client, url, f"{quote(name)}={value}", **extra)
        self.fuzz_names(client, url, **extra)

    def fuzz_together(self, client, url: str, names, **extra) -> None:
        """Every name at once, one request per value: for pages that read no filters of their own."""
        for value in VALUES.values():
            self.get(client, url, "&".join(f"{quote(name)}={value}" for name in sorted(names)), **extra)
        self.fuzz_names(client, url, **extra)

    def fuzz_names(self, client, url: str, **extra) -> None:
        # NUL and a byte that is not UTF-8 in a parameter's name.
        self.get(client, url, "a%00b=1", **extra)
        self.get(client, url, "%ff%fe=1", **extra)


@pytest.fixture
def roles(world, settings):
    """One client per role: auditor, supervisor (both with a confirmed second factor), operator staff."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "1000000/min"},
    }
    staff = Client(raise_request_exception=False)
    staff.force_login(world.staff_a)
    return {
        "auditor": _verified_client(world.auditor),
        "supervisor": _verified_client(supervisor()),
        "operator_staff": staff,
    }


@pytest.fixture
def recorded(world):
    """The world's run keeps the record a finished run writes (the filings it read: its filings endpoint)."""
    run_inputs_store(
        world.run, RunInputs(filings=[[world.filing_a.pk, world.filing_a.sha256]], operators=[], platforms=[])
    )
    return world


@pytest.fixture
def note(world):
    n = FlagNote(flag=world.flag_a, kind=NoteKind.ANSWER, author=world.staff_a, text="ответ", attachment_name="a.pdf")
    n.attachment.save("a", ContentFile(b"%PDF-1.4 answer"), save=True)
    return n


def test_no_page_answers_5xx_to_hostile_parameters(recorded, world, roles, note):
    started = time.monotonic()
    probe = Probe()
    urls = _urls(world, note)
    assert len(urls) > 150  # the walk found the admin too
    fuzzed: set[str] = set()
    for client in roles.values():
        for name, url in urls:
            response = probe.get(client, url)
            if response is None or response.status_code != 200 or url in fuzzed or name.startswith("api:"):
                continue  # the API is fuzzed with tokens below
            # Each page is fuzzed by the first role that can open it.
            fuzzed.add(url)
            body = response.content.decode(errors="replace") if "html" in response.get("Content-Type", "") else ""
            own = _parameter_names(body)
            if name.endswith("_changelist") or not name.startswith("admin:"):
                # The portal's pages and the admin's lists read filters: each name alone.
                probe.fuzz(client, url, own | set(PAGE_COMMON))
            probe.fuzz_together(client, url, own | set(COMMON))
    assert not probe.failures, "\n".join(probe.failures)
    assert len(fuzzed) > 80, sorted(fuzzed)
    print(f"{probe.requests} page requests, {len(fuzzed)} pages fuzzed in {time.monotonic() - started:.0f} s")


# API lists that read their parameters themselves (no filter set): the names they read.
OWN_PARAMETERS = {"api:outflow-drilldown-list": ("run", "dimension", "key", "cohort", "state")}


def _list_endpoints(w) -> dict[str, type | tuple]:
    """Every API list endpoint and its filter set."""
    lists = {}
    for name, pattern in _patterns():
        args = pattern.pattern.regex.groupindex
        if name and name.startswith("api:") and name.endswith("-list") and "format" not in args:
            kwargs = {"filing_pk": w.filing_a.pk} if "filing_pk" in args else {}
            kwargs |= {"run_pk": w.run.pk} if "run_pk" in args else {}
            view = pattern.callback.cls
            lists[reverse(name, kwargs=kwargs)] = getattr(view, "filterset_class", None) or OWN_PARAMETERS[name]
    return lists


def test_no_api_list_answers_5xx_to_hostile_parameters(recorded, world, roles):
    probe = Probe()
    lists = _list_endpoints(world)
    assert len(lists) >= 8
    for key in ("agency_all", "operator_a"):
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.keys[key]}")
        for url, filterset in lists.items():
            status = probe.get(client, url).status_code
            if key == "agency_all":
                assert status == 200, url
            if status != 200:
                continue  # an operator's token is refused what it may not read
            names = set(filterset) if isinstance(filterset, tuple) else set(filterset.base_filters)
            probe.fuzz(client, url, names | set(API_COMMON))
    assert not probe.failures, "\n".join(probe.failures[:50])
    assert issubclass(next(f for f in lists.values() if f), api_filters.StrictFilterSet)


def test_malformed_cursors_are_400_with_the_api_error_body(recorded, world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.keys['agency_all']}")
    for url in _list_endpoints(world):
        for raw in ("p=abc", "p=" + "9" * 30, "o=-1", "r=x", "p=%00", "p=1.5", "p= 1x"):
            response = client.get(url, {"cursor": base64.b64encode(raw.encode()).decode()})
            assert response.status_code == 400, (url, raw, response.content[:200])
            body = response.json()
            assert (body["status"], body["code"]) == (400, "invalid"), body
            assert "cursor" in body["errors"], body


def test_admin_changelists_take_part():
    """The page walk covers the admin: every registered model's changelist is among the patterns."""
    names = {name for name, _pattern in _patterns() if name}
    for model in admin_site._registry:
        assert f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist" in names
