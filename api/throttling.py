"""Per-token throttling in the shared Django cache (Redis in production: one count for all workers).

A fixed window with an atomic counter: two cache round-trips per request, no
list of timestamps to (un)pickle, so it stays cheap at hundreds of requests/s.
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

    def ident(self, request, view) -> str:
        auth = getattr(request, "auth", None)
        if isinstance(auth, ApiToken):
            return f"t{auth.pk}"
        if request.user and request.user.is_authenticated and request.user.pk is not None:
            return f"u{request.user.pk}"
        return f"a{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        limit, period = self.rate()
        now = time.time()
        window = int(now // period)
        key = f"api:throttle:{self.ident(request, view)}:{period}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            count = 1
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float:
        return max(self._wait, 1.0)
