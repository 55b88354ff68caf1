"""Each private-internals shortcut (settings.API_FAST_PATHS, api/fast_paths.py) gives what its
standard path gives: the same JSON, the same counters, the same audit events, the same 401/429.
Figures and decisions: bench/README_api.md, "Private-internals shortcuts, measured"."""

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connections
from django.forms.models import model_to_dict
from psycopg.pq import Format
from rest_framework.test import APIClient

from api.selectors import api_token_by_key_hash
from api.services import key_hash
from auditlog.models import AuditEvent
from config import db as config_db
from tests.api.conftest import client_with, make_run, make_transfers

SHORTCUTS = tuple(django_settings.API_FAST_PATHS)
ALL_ON = dict.fromkeys(SHORTCUTS, True)
# Every shortcut off alone, and all of them off: each compared with all of them on.
OFF = {**{name: {**ALL_ON, name: False} for name in SHORTCUTS}, "all": dict.fromkeys(SHORTCUTS, False)}


def test_every_shortcut_is_on_by_default_and_the_switches_are_known():
    assert SHORTCUTS == ("token_lookup", "sql_rows", "cached_querysets", "admit_script", "c_timestamptz_loader")
    assert all(django_settings.API_FAST_PATHS.values())


# --- The token lookup (raw SQL with the ORM's converters) -----------------------------------------


def _token_as_loaded(key: str, assert_num_queries):
    with assert_num_queries(1):  # the standard path is one query too (select_related)
        token = api_token_by_key_hash(key_hash(key))
    if token is None:
        return None
    user = model_to_dict(token.user) if token.user_id is not None else None
    return model_to_dict(token), {f.attname: getattr(token, f.attname) for f in token._meta.concrete_fields}, user


def test_the_raw_token_lookup_loads_what_the_orm_loads(world, settings, django_assert_num_queries):
    keys = [*world.keys.values(), "not-a-key"]
    fast = [_token_as_loaded(k, django_assert_num_queries) for k in keys]
    settings.API_FAST_PATHS = OFF["token_lookup"]
    standard = [_token_as_loaded(k, django_assert_num_queries) for k in keys]
    assert fast == standard
    assert fast[-1] is None
    assert all(t is not None for t in fast[:-1])


# --- The JSON of the big lists (SQL rows, cached querysets, the C timestamptz loader) ---------------


def _bodies(world, client: APIClient) -> list:
    """Pages and objects through every path a shortcut touches, the next cursor page followed."""
    urls = [
        "/api/v1/transfers/?page_size=2",
        "/api/v1/transfers/?page_size=2&direction=OUT",
        f"/api/v1/transfers/?operator={world.op_a.unp}&occurred_from=2025-03-05T10:01:00%2B00:00",
        f"/api/v1/transfers/{world.transfer_a.pk}/",
        "/api/v1/outflows/stats/",
        "/api/v1/outflows/stats/?dimension=overall&cohort=all",
        f"/api/v1/outflows/stats/?run={world.run.pk}",
        "/api/v1/outflows/runs/",
    ]
    bodies = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        bodies.append(response.json())
    next_url = bodies[0]["next"]
    bodies.append(client.get(next_url).json())
    return bodies


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _events(after: int, upto: int | None = None) -> list:
    events = AuditEvent.objects.filter(id__gt=after).order_by("id")
    if upto is not None:
        events = events.filter(id__lte=upto)
    return [(e.action, e.actor_id, e.ip, e.details) for e in events]


@pytest.mark.parametrize("off", list(OFF))
def test_the_lists_give_the_same_json_and_audit_events_either_way(world, settings, off):
    make_transfers(world.op_b, world.filing_b, world.platform, 4, start=100)
    newer = make_run(keys=("all", "x"))  # the latest finished run: the default stats page
    agency = client_with(world.keys["agency_all"])
    agency.get("/api/v1/platforms/")  # last_used_at written once, before the compared pulls
    start = _last_event_id()
    fast = _bodies(world, agency)
    middle = _last_event_id()
    settings.API_FAST_PATHS = OFF[off]
    standard = _bodies(world, agency)
    assert fast == standard
    assert {row["run"] for row in fast[4]["results"]} == {newer.pk}
    assert fast[0]["results"]
    assert fast[-1]["results"]
    fast_events, standard_events = _events(start, middle), _events(middle)
    assert len(fast_events) == 5  # the transfer pulls (the next page too); stats and runs are not audited
    assert fast_events == standard_events


def test_operator_staff_see_the_same_either_way(world, settings):
    staff = client_with(world.keys["operator_a"])
    urls = ["/api/v1/transfers/", "/api/v1/outflows/stats/", "/api/v1/operators/"]
    fast = [(staff.get(u).status_code, staff.get(u).json()) for u in urls]
    settings.API_FAST_PATHS = OFF["all"]
    assert [(staff.get(u).status_code, staff.get(u).json()) for u in urls] == fast


def test_the_c_timestamptz_loader_is_registered_only_while_its_switch_is_on(db, settings):
    # Its values are pinned to Django's loader's, value by value, in tests/test_db_timestamps.py.
    for on in (True, False):
        settings.API_FAST_PATHS = {**ALL_ON, "c_timestamptz_loader": on}
        new = connections.create_connection("default")
        try:
            new.ensure_connection()
            loader = new.connection.adapters.get_loader(config_db.TIMESTAMPTZ_OID, Format.TEXT)
        finally:
            new.close()
        assert (loader is config_db.UtcTimestamptzLoader) is (on and config_db.C_TIMESTAMPTZ_LOADER is not None)


# --- The admit script (auth failures and the throttle in one Redis round trip) -----------------------


def _from(address: str, key: str) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _counters(world) -> dict:
    """key -> count, the window number dropped (both runs are in the same day-long window anyway).

    The one difference left out: the script counts a request for its key before the lookup, so a
    refused key (unknown, revoked, expired) also has a request count, which nothing ever reads.
    """
    served = {f"api:throttle:k{key_hash(world.keys[name])[:32]}" for name in ("agency_all", "operator_a")}
    counters = {key.rsplit(":", 1)[0]: cache.get(key) for key in cache.keys("api:*")}
    return {
        key: count
        for key, count in counters.items()
        if not key.startswith("api:throttle:k") or key.rsplit(":", 1)[0] in served
    }


def _throttle_story(world) -> tuple:
    statuses = []
    for _ in range(4):  # the token's rate: 3 a day
        response = client_with(world.keys["agency_all"]).get("/api/v1/platforms/")
        statuses.append((response.status_code, response.has_header("Retry-After")))
    for key in ("not-a-key", world.keys["revoked"], world.keys["expired"], "another-guess"):
        response = _from("10.0.0.9", key).get("/api/v1/operators/")
        statuses.append((response.status_code, response.json()["code"]))
    # A valid key from the address that used up its failures is still served (issue 14).
    statuses.append(_from("10.0.0.9", world.keys["operator_a"]).get("/api/v1/operators/").status_code)
    statuses.append(_from("10.0.0.9", world.keys["revoked"]).get("/api/v1/operators/").status_code)
    malformed = APIClient(REMOTE_ADDR="10.0.0.8")
    malformed.credentials(HTTP_AUTHORIZATION="Token two parts")
    statuses.append([malformed.get("/api/v1/operators/").status_code for _ in range(4)])
    browser = APIClient()
    browser.force_login(world.auditor)
    statuses.append([browser.get("/api/v1/operators/").status_code for _ in range(4)])
    return statuses, _counters(world)


def test_the_admit_script_counts_and_refuses_as_the_cache_api_does(world, settings):
    settings.API_AUTH_FAILURE_RATE = "3/day"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/day"}}
    for key in ("agency_all", "operator_a"):  # last_used_at written before the compared requests
        client_with(world.keys[key]).get("/api/v1/platforms/")
    cache.clear()
    start = _last_event_id()
    fast = _throttle_story(world)
    middle = _last_event_id()
    cache.clear()
    settings.API_FAST_PATHS = OFF["admit_script"]
    standard = _throttle_story(world)
    assert fast == standard
    statuses, counters = fast
    assert statuses[:4] == [(200, False), (200, False), (200, False), (429, True)]
    assert statuses[4:8] == [(401, "authentication_failed")] * 3 + [(429, "throttled")]
    assert statuses[8:] == [200, 429, [401, 401, 401, 429], [200, 200, 200, 429]]
    assert counters["api:auth-failures:10.0.0.9:86400"] == 3
    fast_events, standard_events = _events(start, middle), _events(middle)
    assert [e[0] for e in fast_events].count("auth.api_token_failures") == 2  # once per address
    assert fast_events == standard_events
