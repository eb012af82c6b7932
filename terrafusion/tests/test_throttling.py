"""Rate limits on every endpoint (per user, per address), the schema built once and throttled, and rates
checked when the settings load."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.views import APIView

from terrafusion.api import schema_view
from terrafusion.testing.api import bearer_client

SCHEMA_JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def rates(settings):
    """Set some throttle rates for one test (the throttles read the settings at each request)."""

    def set_rates(**new):
        rest = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {**rest, "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], **new}}

    return set_rates


def _views(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
            yield prefix + str(pattern.pattern), view


def test_every_api_view_has_the_default_throttles():
    defaults = set(api_settings.DEFAULT_THROTTLE_CLASSES)
    checked = {}
    for route, view in _views(get_resolver().url_patterns):
        if isinstance(view, type) and issubclass(view, APIView):
            checked[route] = defaults <= set(view.throttle_classes)
    assert "api/schema/" in checked and "api/v1/auth/login" in checked
    assert [route for route, throttled in checked.items() if not throttled] == []


@pytest.mark.django_db
def test_signed_in_users_are_throttled_per_user_with_retry_after(viewer, appraiser, rates):
    rates(user="3/min")
    client = bearer_client(viewer)
    for _ in range(3):
        assert client.get(reverse("api:county-list")).status_code == 200
    blocked = client.get(reverse("api:auth-me"))  # the count is per user, over every endpoint
    assert blocked.status_code == 429
    assert 0 < int(blocked["Retry-After"]) <= 60
    assert blocked.json()["error"]["code"] == "throttled"
    assert cache.get(f"throttle_user_{viewer.pk}") == 4  # one counter in the shared Redis: 3 served, 1 refused
    assert bearer_client(appraiser).get(reverse("api:county-list")).status_code == 200  # others unaffected


@pytest.mark.django_db
def test_anonymous_requests_are_throttled_per_address(viewer, rates):
    rates(anon="2/min")
    for _ in range(2):
        assert APIClient().post(reverse("api:auth-refresh"), {"refresh": "x"}, format="json").status_code == 401
    blocked = APIClient().get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0
    elsewhere = APIClient(REMOTE_ADDR="10.1.2.3").get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
    assert elsewhere.status_code == 200


def test_the_schema_is_built_once_and_served_from_memory(db):
    schema_view._schemas.clear()
    try:
        first = APIClient().get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
        assert first.status_code == 200
        assert first.json()["openapi"].startswith("3.")
        (cached,) = schema_view._schemas.values()
        cached["info"]["title"] = "served from memory"  # what a second build would not say
        # Unknown versions and languages are the same schema, not new cache entries.
        second = APIClient().get("/api/schema/?version=v9&lang=xx", HTTP_ACCEPT=SCHEMA_JSON)
        assert second.json()["info"]["title"] == "served from memory"
        assert len(schema_view._schemas) == 1
    finally:
        schema_view._schemas.clear()


@pytest.mark.parametrize("value", ["lots", "1200", "0/min", "10/fortnight", "-5/s", "5 per min"])
def test_a_bad_rate_is_refused_naming_the_variable(monkeypatch, value):
    from terrafusion.settings import _env_rate

    monkeypatch.setenv("API_THROTTLE_USER", value)
    with pytest.raises(ImproperlyConfigured, match=r"API_THROTTLE_USER=.* is not a rate"):
        _env_rate("API_THROTTLE_USER", "1200/min")


@pytest.mark.parametrize("value", ["1200/min", "20/s", "100/hour", "5000/day", "7/minute"])
def test_drf_rate_syntax_is_accepted(monkeypatch, value):
    from terrafusion.settings import _env_rate

    monkeypatch.setenv("API_THROTTLE_ANON", value)
    assert _env_rate("API_THROTTLE_ANON", "120/min") == value


def test_a_bad_rate_stops_start_up():
    env = {**os.environ, "API_THROTTLE_ANON": "plenty"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "API_THROTTLE_ANON='plenty' is not a rate" in result.stderr
