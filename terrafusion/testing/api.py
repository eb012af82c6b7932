"""The API test base: a concrete endpoint test is data; the base proves county RBAC for it.

For every endpoint, `EndpointContract` proves: anonymous -> 401; a signed-in user with no role
-> 403; a user of another county -> 404 (for a detail) or none of the rows (for a list); a role
that may only read -> 403 for a write, with nothing written; the allowed role in the object's
county -> the expected status. Subclass it as `TestSomething(EndpointContract)` and fill in:

    route = "api:property-detail"  # the URL name (the meta-test checks every API route has a contract)
    query = ""                     # query string, e.g. "format=geojson"
    method = "get"                 # HTTP method
    role = "viewer"                # the least role that may call it
    read_only_role = None          # for writes: a role in the same county that may not (-> 403)
    is_list = False                # lists filter other counties out instead of answering 404
    is_create = False              # creating into another county is 403 (not 404)
    expected_status = 200
    def make_target(self, county): ...    # the object the endpoint is about (made in `county`)
    def url_args(self, target): ...       # default: [target.pk] for a detail route, [] otherwise
    def payload(self, target): ...        # request body for writes
    def snapshot(self, target): ...       # state that a refused write must leave unchanged
    def list_ids(self, response): ...     # the ids a list response shows
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from terrafusion.testing.factories import CountyFactory, UserFactory, user_with_role
from terrafusion.testing.openapi import assert_matches_schema


class SchemaCheckedClient(APIClient):
    """An API client whose every answer under /api/v1/ must be one the OpenAPI schema documents."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        if response.wsgi_request.path.startswith("/api/v1/"):
            assert_matches_schema(response)
        return response


def bearer_client(user) -> APIClient:
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


class EndpointContract:
    route: str
    query = ""
    method = "get"
    role = "viewer"
    read_only_role: str | None = None
    is_list = False
    is_create = False
    expected_status = 200

    def make_target(self, county):
        return None

    def url_args(self, target) -> list:
        return [] if self.is_list or self.is_create else [target.pk]

    def url(self, target) -> str:
        url = reverse(self.route, args=self.url_args(target))
        return f"{url}?{self.query}" if self.query else url

    def payload(self, target) -> dict | None:
        return None

    def snapshot(self, target):
        return None

    def list_ids(self, response) -> set:
        return {row["id"] for row in response.json()["results"]}

    def target_id(self, target):
        return target.pk

    # --- the proofs -------------------------------------------------------------------------

    def call(self, client: APIClient, target):
        kwargs = {"format": "json"}
        payload = self.payload(target)
        if payload is not None:
            kwargs["data"] = payload
        response = getattr(client, self.method)(self.url(target), **kwargs)
        assert_matches_schema(response)  # every answer, allowed or refused, is one the OpenAPI schema documents
        return response

    @pytest.fixture
    def home(self, db):
        return CountyFactory(slug="home-wa", name="Home", fips_code="53901")

    @pytest.fixture
    def away(self, db):
        return CountyFactory(slug="away-wa", name="Away", fips_code="53902")

    def test_anonymous_gets_401(self, home):
        target = self.make_target(home)
        before = self.snapshot(target)
        response = self.call(APIClient(), target)
        assert response.status_code == 401, response.content
        assert response.json()["error"]["status"] == 401
        assert self.snapshot(target) == before

    def test_user_without_role_gets_403(self, home):
        target = self.make_target(home)
        before = self.snapshot(target)
        response = self.call(bearer_client(UserFactory()), target)
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
        assert self.snapshot(target) == before

    def test_other_county_is_hidden(self, home, away):
        target = self.make_target(away)
        before = self.snapshot(target)
        user = user_with_role(home, self.role)
        self.make_target(home)  # the user's own county has data too
        response = self.call(bearer_client(user), target)
        if self.is_list:
            assert response.status_code == 200, response.content
            if target is not None:
                assert self.target_id(target) not in self.list_ids(response)
        elif self.is_create:
            assert response.status_code == 403, response.content
        else:
            assert response.status_code == 404, response.content
        assert self.snapshot(target) == before

    def test_read_only_role_cannot_write(self, home):
        if self.read_only_role is None:
            pytest.skip("a read endpoint")
        target = self.make_target(home)
        before = self.snapshot(target)
        response = self.call(bearer_client(user_with_role(home, self.read_only_role)), target)
        assert response.status_code == 403, response.content
        assert self.snapshot(target) == before

    def test_own_county_is_allowed(self, home):
        target = self.make_target(home)
        response = self.call(bearer_client(user_with_role(home, self.role)), target)
        assert response.status_code == self.expected_status, response.content
        if self.is_list and target is not None:
            assert self.target_id(target) in self.list_ids(response)
        self.check_allowed_response(response, target)

    def check_allowed_response(self, response, target) -> None:
        """Endpoint-specific checks of the allowed call."""
