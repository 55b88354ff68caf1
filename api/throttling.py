"""Throttling in the shared Django cache (Redis in production: one count for all workers).

A fixed window with an atomic counter, no list of timestamps to (un)pickle, so it
stays cheap at hundreds of requests/s. Two counts: requests per token
(TokenRateThrottle; per session user or address without a token) and failed token
authentications per client address (AuthFailureLimit), both through Django's cache API
(add + incr; the failures read only after a failed lookup). A valid key is served even
from an address that has used up its failures; only its bad keys are refused (429).
Counting both in one Lua script through django-redis's client (one round trip) was
measured and removed: no gain beyond the noise (bench/README_api.md).
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from api.models import ApiToken

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


def _window(prefix: str, period: int) -> tuple[str, float]:
    """The cache key of the current window and the seconds left in it."""
    now = time.time()
    window = int(now // period)
    return f"{prefix}:{period}:{window}", (window + 1) * period - now


def _incr(key: str, period: int) -> int:
    """Count one in the window's counter (created at the first count, expiring after the window)."""
    cache.add(key, 0, timeout=period + 1)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        return 1


class TokenRateThrottle(BaseThrottle):
    """N requests per period per token (or per session user, or per client address)."""

    scope = "token"
    default_rate = "1200/min"

    def __init__(self):
        self._wait = 0.0

    def rate(self) -> tuple[int, int]:
        # Read per request (not DRF's cached api_settings) so an override applies at once.
        rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES") or {}
        return parse_rate(rates.get(self.scope) or self.default_rate)

    def window(self, ident: str) -> tuple[str, int, int, float]:
        """The counter of `ident` in the current window: cache key, limit, period, seconds left."""
        limit, period = self.rate()
        key, left = _window(f"api:throttle:{ident}", period)
        return key, limit, period, left

    @staticmethod
    def token_ident(digest: str) -> str:
        return f"k{digest[:32]}"  # the key's SHA-256 (ApiToken.key_hash)

    def ident(self, request, view) -> str:
        auth = getattr(request, "auth", None)
        if isinstance(auth, ApiToken):
            return self.token_ident(auth.key_hash)
        if request.user and request.user.is_authenticated and request.user.pk is not None:
            return f"u{request.user.pk}"
        return f"a{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        key, limit, period, left = self.window(self.ident(request, view))
        if _incr(key, period) > limit:
            self._wait = left
            return False
        return True

    def wait(self) -> float:
        return max(self._wait, 1.0)


class AuthFailureLimit:
    """Failed token authentications of one client address (API_AUTH_FAILURE_RATE, e.g. 30/min).

    Without it a caller could try keys without limit: a bad key is refused by
    authentication, before the per-token throttle ever runs. Once an address has
    used up its failures, every further bad key from it is refused with 429 until
    the window ends (and not logged again); a valid key from the same address (an
    agency behind one NAT with a misconfigured client beside a working one) is still
    served. Keys are 256-bit random: the limit stops the noise, not a feasible search.
    """

    def __init__(self, address: str):
        # Read per request, like the token rate, so an override applies at once.
        self.limit, self.period = parse_rate(settings.API_AUTH_FAILURE_RATE)
        self.key, self.wait = _window(f"api:auth-failures:{address}", self.period)

    def exceeded(self) -> bool:
        return (cache.get(self.key) or 0) >= self.limit

    def record(self) -> bool:
        """Count one failure; True for the one that reaches the limit (once per window: incr is atomic)."""
        return _incr(self.key, self.period) == self.limit
