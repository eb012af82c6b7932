"""Bearer-token API requests skip the session middleware family; the admin and the browsable API keep all of it."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import PropertyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_request_skips_sessions_and_messages(county, viewer):
    PropertyFactory(county=county)
    response = bearer_client(viewer).get(reverse("api:property-list"))
    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "session")  # SessionMiddleware did not run
    assert not hasattr(response.wsgi_request, "_messages")  # nor MessageMiddleware
    assert response["X-Frame-Options"] == "DENY"  # CSRF and X-Frame-Options run for every request
    assert not response.cookies


def test_a_token_request_is_its_tokens_user_even_with_a_session_cookie(county, viewer):
    """The session of someone else in the same browser neither authenticates nor overrides a bearer token."""
    client = bearer_client(UserFactory())  # a user without any role: 403
    client.force_login(viewer)
    assert client.get(reverse("api:property-list")).status_code == 403


def test_a_bad_token_is_401_not_a_fallback_to_the_session(viewer):
    client = APIClient()
    client.force_login(viewer)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert client.get(reverse("api:property-list")).status_code == 401


def test_the_browsable_api_with_a_session_keeps_csrf_and_frame_options(county, viewer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.get(reverse("api:property-list"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["X-Frame-Options"] == "DENY"
    assert response.wsgi_request.session.session_key
    prop = PropertyFactory(county=county)
    refused = client.patch(reverse("api:property-detail", args=[prop.pk]), {"living_area": 1}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]


def test_the_admin_keeps_csrf_and_frame_options(viewer):
    client = Client(enforce_csrf_checks=True)
    login = client.get(reverse("admin:login"))
    assert login["X-Frame-Options"] == "DENY"
    assert client.post(reverse("admin:login"), {"username": "x", "password": "y"}).status_code == 403  # no token
    # A bearer header does not lift the admin's protections: only /api/ is exempt.
    refused = client.post(reverse("admin:login"), {"username": "x", "password": "y"}, HTTP_AUTHORIZATION="Bearer x")
    assert refused.status_code == 403
