"""`manage.py demo --no-serve`: the demo county and one working login per role."""

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from counties.models import County
from counties.roles import ROLES
from counties.services import user_county_roles
from properties.models import Property

pytestmark = pytest.mark.django_db


def test_demo_sets_up_a_county_and_a_login_per_role():
    out = io.StringIO()
    call_command("demo", parcels=150, serve=False, stdout=out)
    county = County.objects.get(slug="demo")
    assert Property.objects.filter(county=county).count() == 150
    logins = dict(re.findall(r"^\s+\w+\s+(demo-[\w-]+)\s+(\S+)$", out.getvalue(), re.MULTILINE))
    assert len(logins) == len(ROLES)
    for username, password in logins.items():
        user = authenticate(username=username, password=password)
        assert user is not None and user.is_staff
        (roles,) = user_county_roles(user).values()
        assert roles == [username.removeprefix("demo-").replace("-", "_")]

    again = io.StringIO()
    call_command("demo", parcels=150, serve=False, stdout=again)
    assert "already loaded" in again.getvalue()
    assert Property.objects.filter(county=county).count() == 150
