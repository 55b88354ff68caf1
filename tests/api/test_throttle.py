"""Throttling per token through the shared cache: 429 with Retry-After, other tokens unaffected."""

import pytest

from tests.api.conftest import client_with


@pytest.fixture
def three_a_day(settings):
    # A day-long window: the test cannot straddle a window boundary in practice.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/day"}}


def test_fourth_request_is_429_for_that_token_only(world, three_a_day):
    client = client_with(world.keys["agency_all"])
    for _ in range(3):
        assert client.get("/api/v1/platforms/").status_code == 200
    response = client.get("/api/v1/operators/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["status"] == 429
    assert body["code"] == "throttled"
    assert client_with(world.keys["only:operators"]).get("/api/v1/platforms/").status_code == 200


def test_counter_lives_in_the_shared_cache(world, three_a_day):
    from django.core.cache import cache

    client_with(world.keys["agency_all"]).get("/api/v1/platforms/")
    if hasattr(cache, "client"):  # django-redis: the count is in Redis, seen by every worker
        keys = cache.keys("api:throttle:*")
        assert keys
