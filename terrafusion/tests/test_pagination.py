"""Pagination refuses what a client can tamper with: a forged cursor is a 400, a huge page_size is capped."""

import base64

import pytest
from django.urls import reverse

from properties.models import Property
from terrafusion.api.pagination import IdCursorPagination
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import PropertyFactory

pytestmark = pytest.mark.django_db


def cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "raw",
    [
        "cD1hYmM=",  # p=abc: not an id
        cursor("p=99999999999999999999"),  # an id beyond bigint
        "%%%not-base64",
        cursor("o=x"),
        cursor("r=maybe"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/properties/", "/api/v1/reporting/jobs/"])
def test_a_tampered_cursor_is_a_400_in_the_error_shape(county, viewer, path, raw):
    response = bearer_client(viewer).get(path, {"cursor": raw})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_cursor"
    assert error["fields"] == {"cursor": ["Invalid cursor; use the next or previous link of a page as it was given."]}


def test_a_cursor_as_given_still_works(county, viewer):
    made = sorted(PropertyFactory(county=county).pk for _ in range(3))
    first = bearer_client(viewer).get(reverse("api:property-list"), {"page_size": 2}).json()
    second = bearer_client(viewer).get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == made


def test_page_size_is_capped(county, viewer):
    cap = IdCursorPagination.max_page_size
    Property.objects.bulk_create(PropertyFactory.build_batch(cap + 1, county=county))
    response = bearer_client(viewer).get(reverse("api:property-list"), {"page_size": 100000})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == cap == 1000
    assert body["next"]
