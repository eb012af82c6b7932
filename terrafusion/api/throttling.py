"""Request rate limits for the whole API: per signed-in user, per client address when anonymous, and per scope.

Each throttle is one counter in the shared Redis, so all web processes count against one limit, and
checking it is one round trip of constant cost: a MULTI pipeline of `SET key 0 PX <period> NX` (the
window starts at the first request), `INCR key` and `PTTL key`. A request is allowed while the count
is within the rate; Retry-After is the time left in the window. (DRF's SimpleRateThrottle keeps a list
of every request's time per user and reads, prunes and rewrites it on each request: at 1,200/min
that is a 1,200-entry pickle per request.)

The window is fixed from its first request, not sliding: a client may spend its whole rate at the end
of one window and again at the start of the next, so up to twice the rate over one period in the worst
case. Requests refused with 429 count too; they do not lengthen the window.

DRF's throttles read their rates once, at import (a class attribute); these read the settings at each
request, so the rates in force are always the configured ones (a test's override included). Which
address a request comes from depends on NUM_PROXIES (see the README).
"""

from django.core.cache import cache
from rest_framework import throttling
from rest_framework.settings import api_settings


def window_count(key: str, period_seconds: int) -> tuple[int, int]:
    """Count one request against `key`'s current window: (requests in the window, milliseconds it has left)."""
    period_ms = period_seconds * 1000
    redis_key = cache.make_and_validate_key(key)
    client = cache._cache.get_client(redis_key, write=True)  # Django's Redis client: its pool and key prefix
    with client.pipeline(transaction=True) as pipe:
        pipe.set(redis_key, 0, px=period_ms, nx=True)
        pipe.incr(redis_key)
        pipe.pttl(redis_key)
        _, count, left_ms = pipe.execute()
    if left_ms < 0:
        # The window expired between SET and INCR, so INCR made a key without expiry: start it now.
        client.pexpire(redis_key, period_ms)
        left_ms = period_ms
    return count, left_ms


class _WindowCounter:
    """SimpleRateThrottle's rate, scope and key, counted in one Redis counter per window."""

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self.left_ms = window_count(self.key, self.duration)
        return count <= self.num_requests

    def wait(self) -> float:
        return self.left_ms / 1000


class UserRateThrottle(_WindowCounter, throttling.UserRateThrottle):
    """Signed-in users: API_THROTTLE_USER per user. Anonymous requests count in AnonRateThrottle only."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class AnonRateThrottle(_WindowCounter, throttling.AnonRateThrottle):
    """Anonymous requests (login, refresh, the schema): API_THROTTLE_ANON per client address."""


class ScopedRateThrottle(_WindowCounter, throttling.ScopedRateThrottle):
    """A view's own rate (`throttle_scope`), on top of the defaults: per user, or per address when anonymous."""

    def allow_request(self, request, view) -> bool:
        # DRF's ScopedRateThrottle learns its scope and rate from the view, then counts as SimpleRateThrottle does.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
