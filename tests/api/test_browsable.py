"""The browsable API (Accept: text/html): DRF's HTML page over the same JSON, for every kind of caller."""

import html

import pytest

from tests.api.conftest import client_with

PAGES = [
    "/api/v1/transfers/?page_size=2",
    "/api/v1/outflows/stats/",
    "/api/v1/operators/",
    "/api/v1/filings/",
    "/api/v1/flags/",
]


@pytest.mark.parametrize("caller", ["agency_all", "operator_a", "auditor"])
@pytest.mark.parametrize("path", PAGES)
def test_html_pages_answer_as_the_json_does(world, caller, path):
    # An agency token's client is not a portal user: the portal's template context must cope.
    client = client_with(world.keys[caller])
    expected = client.get(path).status_code  # 403 for operator staff outside their scopes
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == expected
    assert response["Content-Type"].startswith("text/html")
    if expected == 200:
        assert '"results": [' in html.unescape(response.content.decode())


def test_every_kind_of_caller_gets_an_html_page(world):
    assert {
        caller: client_with(world.keys[caller]).get(PAGES[2], HTTP_ACCEPT="text/html").status_code
        for caller in ("agency_all", "operator_a", "auditor")
    } == {"agency_all": 200, "operator_a": 200, "auditor": 200}


def test_a_transfer_shows_the_same_values_in_html_and_json(world, agency):
    path = f"/api/v1/transfers/{world.transfer_a.pk}/"
    shown = agency.get(path).json()
    page = html.unescape(agency.get(path, HTTP_ACCEPT="text/html").content.decode())
    assert f'"external_id": "{shown["external_id"]}"' in page
    assert f'"occurred_at": "{shown["occurred_at"]}"' in page
