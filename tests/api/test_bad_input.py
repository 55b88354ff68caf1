"""Bad input is a 4xx with the JSON error body, never a 500."""

import pytest

HUGE = "9" * 30

URLS = [
    f"/api/v1/filings/{HUGE}/",
    "/api/v1/filings/abc/",
    f"/api/v1/filings/{HUGE}/errors/",
    f"/api/v1/transfers/{HUGE}/",
    f"/api/v1/transfers/?filing={HUGE}",
    "/api/v1/transfers/?filing=abc",
    "/api/v1/transfers/?filing=1e400",
    "/api/v1/transfers/?occurred_from=tomorrow",
    "/api/v1/transfers/?direction=UP",
    "/api/v1/transfers/?page_size=abc",
    "/api/v1/transfers/?page_size=-5",
    f"/api/v1/outflows/stats/?run={HUGE}",
    "/api/v1/outflows/stats/?run=NaN",
    "/api/v1/outflows/stats/?cohort_to=2025-13",
    "/api/v1/operators/?unp=%00",
    "/api/v1/platforms/?verified=maybe",
    "/api/v1/flags/?operator=" + "x" * 5000,
    "/api/v1/outflows/runs/?updated_since=0255-05-11T03%3A57%3A58-22%3A41",  # offset PostgreSQL refuses
    "/api/v1/filings/e%0Ax/errors/",  # an encoded newline in the path
    "/api/v1/transfers/?page_size=0",
    "/api/v1/transfers/?updated_since=",
    "/api/v1/platforms/?verified=null",
    "/api/v1/filings/?%13%00x=1&kind=client_register",  # NUL in a parameter name (audited pull)
    "/api/v1/transfers/?x=%00",  # NUL in a value (audited pull)
]


@pytest.mark.parametrize("url", URLS)
def test_never_500(world, agency, url):
    response = agency.get(url)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response.json()["status"] == response.status_code


def test_nul_byte_in_path_of_a_refusal_is_not_500(world, agency):
    assert agency.get("/api/v1/filings/%00/").status_code == 404
