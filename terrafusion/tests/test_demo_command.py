"""`manage.py demo --no-serve`: the demo county and one working login per role."""

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from counties.models import County
from counties.roles import ROLES
from counties.services import user_county_roles
from ingestion.models import IngestionJob
from properties.models import Property, PropertyValue, Sale

pytestmark = pytest.mark.django_db


def test_demo_sets_up_a_county_and_a_login_per_role():
    out = io.StringIO()
    call_command("demo", parcels=150, serve=False, stdout=out)
    county = County.objects.get(slug="demo")
    assert Property.objects.filter(county=county).count() == 150
    # Made the real way: loaded from a fake PACS of the demo generator, polygons from its "GIS", the truth kept.
    parcels = Property.objects.filter(county=county)
    assert set(parcels.values_list("source_system", flat=True)) == {"pacs"}
    assert not parcels.filter(geometry__isnull=True).exists()
    job = IngestionJob.objects.get(county=county)
    assert job.status == "completed" and set(parcels.values_list("created_by_job", flat=True)) == {job.pk}
    years = set(PropertyValue.objects.filter(county=county, source="pacs").values_list("roll_year", flat=True))
    assert years == {county.working_roll_year - 1, county.working_roll_year}
    assert county.settings["demo_model"]["seed"] == 42 and "log(price)" in county.settings["demo_model"]["formula"]
    assert Sale.objects.filter(county=county).exists()
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
