"""Project-wide pytest fixtures: a clean Redis per test, API clients, counties and users with roles."""

import django_rq
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from terrafusion.testing.factories import CountyFactory, user_with_role
from terrafusion.testing.pacs import pacs_test_alias_register

pacs_test_alias_register()  # the `pacs` alias, for the tests that ask for it (terrafusion/testing/pacs.py)


@pytest.fixture(autouse=True)
def clean_redis():
    """Each test starts with an empty Redis (queues, cache, login-failure counters, job metrics)."""
    django_rq.get_connection("default").flushdb()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def county(db):
    return CountyFactory(slug="benton-wa", name="Benton", fips_code="53005")


@pytest.fixture
def other_county(db):
    return CountyFactory(slug="franklin-wa", name="Franklin", fips_code="53021")


@pytest.fixture
def viewer(county):
    return user_with_role(county, "viewer", username="viewer")


@pytest.fixture
def appraiser(county):
    return user_with_role(county, "appraiser", username="appraiser")


@pytest.fixture
def county_admin(county):
    return user_with_role(county, "county_admin", username="countyadmin")


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """Tests log in a lot: MD5 instead of PBKDF2 (about 1 s a login here), which tests no behaviour of ours.

    override_settings, not the `settings` fixture: some tests take a parameter of that name."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield
