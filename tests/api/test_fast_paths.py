"""Each private-internals shortcut (settings.API_FAST_PATHS, api/fast_paths.py) gives what its
standard path gives: the same JSON, the same queries, the same audit events. (The fifth, a Lua
script counting auth failures and the throttle in one round trip, was measured and removed: its
behaviour is tests/api/test_throttle.py's.) Figures and decisions: bench/README_api.md,
"Private-internals shortcuts, measured"."""

import pytest
from django.conf import settings as django_settings
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
    assert SHORTCUTS == ("token_lookup", "sql_rows", "cached_querysets", "c_timestamptz_loader")
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
