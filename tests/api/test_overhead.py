"""What an API request costs on top of its page: one token query, one throttle count, one audit
statement for pulls; and the shortcuts that keep it so do not change any answer."""

from unittest import mock

import django_filters
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api import filters
from api.models import ApiToken
from api.selectors import api_token_by_key_hash
from api.services import key_hash
from api.views import TransferViewSet
from auditlog.models import AuditEvent
from outflows.models import CrossBorderTransfer
from tests.api.conftest import client_with, make_run


def _sql(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return [q["sql"] for q in ctx.captured_queries]


def test_a_transfer_pull_is_three_statements(world, agency):
    agency.get("/api/v1/transfers/?page_size=2")  # the first use of a token records last_used_at
    token, page, audit = _sql(agency, "/api/v1/transfers/?page_size=2")
    assert "api_apitoken" in token
    assert "outflows_crossbordertransfer" in page
    assert audit.startswith("SELECT event_id, event_prev_hash, event_hash FROM audits_events_append(")


def test_a_stats_page_is_two_statements(world, agency):
    agency.get("/api/v1/outflows/stats/?dimension=overall")
    token, page = _sql(agency, "/api/v1/outflows/stats/?dimension=overall")
    assert "api_apitoken" in token
    assert "outflows_outflowrun" in page  # the latest finished run is a subquery of the page query


def test_latest_run_subquery_follows_new_runs(world, agency):
    assert {r["run"] for r in agency.get("/api/v1/outflows/stats/").json()["results"]} == {world.run.pk}
    newer = make_run()
    assert {r["run"] for r in agency.get("/api/v1/outflows/stats/").json()["results"]} == {newer.pk}


# --- The token lookup ---------------------------------------------------------------------------


def test_token_lookup_loads_the_token_and_its_user_in_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        token = api_token_by_key_hash(key_hash(world.keys["operator_a"]))
        assert token.user == world.staff_a
        assert token.user.is_active
    expected = ApiToken.objects.get(pk=token.pk)
    assert isinstance(token.scopes, list)  # JSON decoded, as the ORM decodes it
    assert [getattr(token, f.attname) for f in ApiToken._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in ApiToken._meta.concrete_fields
    ]
    assert not token._state.adding
    agency = api_token_by_key_hash(key_hash(world.keys["agency_all"]))
    with django_assert_num_queries(0):
        assert agency.user is None
    assert api_token_by_key_hash(key_hash("cop_unknown")) is None


def test_a_deactivated_user_is_refused_by_the_next_request(world):
    client = client_with(world.keys["auditor"])
    assert client.get("/api/v1/operators/").status_code == 200
    world.auditor.is_active = False
    world.auditor.save(update_fields=["is_active"])
    assert client.get("/api/v1/operators/").status_code == 401


def test_an_expiry_applies_to_the_next_request(world, agency):
    assert agency.get("/api/v1/operators/").status_code == 200
    ApiToken.objects.filter(name="NB all").update(expires_at=world.run.created_at)
    assert agency.get("/api/v1/operators/").status_code == 401


# --- The throttle counter -----------------------------------------------------------------------


def test_throttle_counter_counts_once_per_request_and_expires_with_its_window(world, agency):
    for _ in range(3):
        agency.get("/api/v1/operators/")
    [key] = cache.keys("api:throttle:*")
    assert cache.get(key) == 3
    assert 0 < cache.ttl(key) <= 61  # the default rate is per minute: the window plus a second


# --- The filter backend -------------------------------------------------------------------------


def test_pagination_parameters_alone_skip_the_filterset(world, agency):
    with mock.patch.object(filters.TransferFilter, "is_valid", side_effect=AssertionError("filterset built")):
        first = agency.get("/api/v1/transfers/?page_size=2")
        assert first.status_code == 200
        assert agency.get(first.json()["next"]).status_code == 200
        assert agency.get("/api/v1/transfers/").status_code == 200


@pytest.mark.parametrize("query", ["direction=OUT", "page_size=2&asset=USDT", "unknown=1", "direction="])
def test_any_other_parameter_goes_through_the_filterset(world, agency, query):
    with mock.patch.object(filters.TransferFilter, "is_valid", autospec=True, side_effect=lambda fs: True) as valid:
        agency.get(f"/api/v1/transfers/?{query}")
    assert valid.called


def test_skipping_the_filterset_returns_what_it_would(world, agency):
    rows = agency.get("/api/v1/transfers/?page_size=1000").json()["results"]
    assert [r["id"] for r in rows] == list(CrossBorderTransfer.objects.order_by("id").values_list("id", flat=True))
    assert agency.get("/api/v1/transfers/?direction=").status_code == 400  # a typed filter sent empty


def test_a_required_filter_is_never_skipped():
    class Required(filters.StrictFilterSet):
        asset = django_filters.CharFilter(required=True)

        class Meta:
            model = CrossBorderTransfer
            fields = ["asset"]

    view = TransferViewSet()
    request = Request(APIRequestFactory().get("/api/v1/transfers/?page_size=2"))
    assert filters._nothing_to_filter(request, view, filters.TransferFilter)
    assert not filters._nothing_to_filter(request, view, Required)


def test_form_classes_are_shared_but_forms_are_not(world, agency):
    bad = agency.get("/api/v1/outflows/stats/?cohort_from=2025-2")
    assert bad.status_code == 400
    assert "cohort_from" in bad.json()["errors"]
    assert agency.get("/api/v1/outflows/stats/?cohort_from=2025-02").status_code == 200
    bad_transfers = agency.get("/api/v1/transfers/?occurred_from=yesterday")
    assert list(bad_transfers.json()["errors"]) == ["occurred_from"]


def test_pulls_are_still_audited_with_their_filters(world, agency):
    agency.get("/api/v1/transfers/?page_size=2")
    agency.get("/api/v1/transfers/?page_size=2&direction=OUT")
    events = list(AuditEvent.objects.filter(action="api.pull.transfers").order_by("id"))
    assert [e.details["filters"] for e in events] == [{"page_size": "2"}, {"page_size": "2", "direction": "OUT"}]
