"""Roles, role groups and the one enforcement point, restrict(user, action)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counties.models import County, CountyGroupObjectPermission
from counties.roles import ROLES
from counties.services import county_sync_role_groups, user_set_county_roles
from properties.models import Property
from terrafusion.testing.factories import CountyFactory, PropertyFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def group_codenames(county: County, role: str) -> set[str]:
    return set(
        CountyGroupObjectPermission.objects.filter(
            group__name=f"{county.slug}:{role}", content_object=county
        ).values_list("permission__codename", flat=True)
    )


def test_every_county_gets_six_groups_with_exactly_their_role_permissions(county):
    assert set(Group.objects.filter(name__startswith="benton-wa:").values_list("name", flat=True)) == {
        f"benton-wa:{role}" for role in ROLES
    }
    for role, codenames in ROLES.items():
        assert group_codenames(county, role) == codenames


def test_role_sync_repairs_drift_and_is_idempotent(county):
    CountyGroupObjectPermission.objects.filter(group__name="benton-wa:viewer").delete()
    extra = CountyGroupObjectPermission.objects.filter(group__name="benton-wa:county_admin").first()
    CountyGroupObjectPermission.objects.create(
        group=Group.objects.get(name="benton-wa:viewer"), content_object=county, permission=extra.permission
    )
    assert county_sync_role_groups(counties=[county]) > 0
    assert group_codenames(county, "viewer") == {"view_county_data"}
    assert county_sync_role_groups(counties=[county]) == 0


def test_restrict_filters_by_county_and_action(county, other_county):
    mine, theirs = PropertyFactory(county=county), PropertyFactory(county=other_county)
    viewer = user_with_role(county, "viewer")
    assert list(Property.objects.restrict(viewer, "view")) == [mine]
    assert not Property.objects.restrict(viewer, "change").exists()
    appraiser = user_with_role(other_county, "appraiser")
    assert list(Property.objects.restrict(appraiser, "change")) == [theirs]
    assert set(County.objects.restrict(appraiser, "run_valuation")) == {other_county}


def test_restrict_resolves_counties_once_per_user_object(county):
    PropertyFactory(county=county)
    viewer = user_with_role(county, "viewer")
    with CaptureQueriesContext(connection) as queries:
        list(Property.objects.restrict(viewer, "view"))
        list(Property.objects.restrict(viewer, "view"))
    assert len(queries) == 3  # one to resolve the counties, then one per list


def test_superuser_sees_all_anonymous_and_inactive_see_nothing(county, other_county):
    from django.contrib.auth.models import AnonymousUser

    PropertyFactory(county=county), PropertyFactory(county=other_county)
    assert Property.objects.restrict(UserFactory(is_superuser=True), "view").count() == 2
    assert not Property.objects.restrict(AnonymousUser(), "view").exists()
    inactive = user_with_role(county, "county_admin", is_active=False)
    assert not Property.objects.restrict(inactive, "view").exists()


def test_an_inactive_county_is_closed_to_its_users(county):
    PropertyFactory(county=county)
    viewer = user_with_role(county, "viewer")
    county.is_active = False
    county.save()
    assert not Property.objects.restrict(viewer, "view").exists()


def test_setting_roles_touches_only_that_county(county, other_county):
    user = user_with_role(county, "appraiser")
    user_set_county_roles(user=user, county=other_county, roles=["viewer"])
    assert user_set_county_roles(user=user, county=county, roles=["analyst"]) is True
    assert user_set_county_roles(user=user, county=county, roles=["analyst"]) is False
    assert set(user.groups.values_list("name", flat=True)) == {"benton-wa:analyst", "franklin-wa:viewer"}
    with pytest.raises(ValueError, match="Unknown role"):
        user_set_county_roles(user=user, county=county, roles=["overlord"])


def test_unknown_action_is_an_error(county):
    with pytest.raises(ValueError, match="Unknown county action"):
        Property.objects.restrict(UserFactory(), "teleport")


def test_a_new_county_made_any_way_gets_its_groups():
    county = CountyFactory(slug="walla-walla-wa", fips_code="53071")
    assert Group.objects.filter(name__startswith=f"{county.slug}:").count() == len(ROLES)


def test_deleting_a_county_removes_its_role_groups_so_a_new_one_starts_empty():
    from counties.services import county_delete

    county = CountyFactory(slug="asotin-wa", fips_code="53003")
    user = user_with_role(county, "county_admin")
    county_delete(county=county)
    assert not Group.objects.filter(name__startswith="asotin-wa:").exists()
    reborn = CountyFactory(slug="asotin-wa", fips_code="53003")
    assert not County.objects.restrict(user, "view").filter(pk=reborn.pk).exists()
