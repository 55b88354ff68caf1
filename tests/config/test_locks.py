"""config/locks.py: the one cache lock of the scan and the outflow run, on the test command's real Redis."""

import uuid

import pytest
from django.core.cache import cache

from config.locks import cache_lock_held, cache_lock_release, cache_lock_renew, cache_lock_take


@pytest.fixture
def key():
    name = f"test:lock:{uuid.uuid4().hex}"
    yield name
    cache.delete(name)


def test_one_holder_at_a_time_and_only_the_holder_releases(key):
    token = cache_lock_take(key, timeout=60)
    assert token is not None
    assert cache_lock_held(key)
    assert cache_lock_take(key, timeout=60) is None
    cache_lock_release(key, "not-the-holder")
    assert cache_lock_held(key)
    cache_lock_release(key, token)
    assert not cache_lock_held(key)
    assert cache_lock_take(key, timeout=60) not in (None, token)


def test_renew_extends_only_the_holders_lock(key):
    token = cache_lock_take(key, timeout=2)
    assert cache_lock_renew(key, token, timeout=120)
    assert cache.ttl(key) > 60  # django-redis on the test command's Redis
    assert not cache_lock_renew(key, "not-the-holder", timeout=120)


def test_a_lapsed_lock_can_be_taken_again(key):
    token = cache_lock_take(key, timeout=60)
    cache.delete(key)  # as if its timeout lapsed (its holder died)
    again = cache_lock_take(key, timeout=60)
    assert again is not None
    cache_lock_release(key, token)  # the old holder's late release leaves the new lock alone
    assert cache_lock_held(key)
