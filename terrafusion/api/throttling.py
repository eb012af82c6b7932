"""Request rate limits for the whole API: per signed-in user, per client address when anonymous, and per scope.

DRF's throttles read their rates once, at import (a class attribute); these read the settings at each
request, so the rates in force are always the configured ones (a test's override included). Their
counts live in the default cache, the shared Redis, so all web processes count against one limit.
Which address a request comes from depends on NUM_PROXIES (see the README).
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _LiveRates:
    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:
        return api_settings.DEFAULT_THROTTLE_RATES


class UserRateThrottle(_LiveRates, throttling.UserRateThrottle):
    """Signed-in users: API_THROTTLE_USER per user. Anonymous requests count in AnonRateThrottle only."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class AnonRateThrottle(_LiveRates, throttling.AnonRateThrottle):
    """Anonymous requests (login, refresh, the schema): API_THROTTLE_ANON per client address."""


class ScopedRateThrottle(_LiveRates, throttling.ScopedRateThrottle):
    """A view's own rate (`throttle_scope`), on top of the defaults: per user, or per address when anonymous."""
