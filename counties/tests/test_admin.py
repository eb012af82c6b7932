"""The county-scoped admin base, the County admin, report jobs in the admin and the RQ dashboard link."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from counties.models import County, default_county_settings
from counties.roles import ROLES
from properties.models import Neighborhood
from reporting.models import ReportJob
from terrafusion.testing.admin import changelist_ids, client_for, staff
from terrafusion.testing.factories import PropertyFactory, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def county_form(county, **changes) -> dict:
    data = {
        "name": county.name,
        "state": county.state,
        "timezone": county.timezone,
        "working_roll_year": county.working_roll_year,
        "certified_roll_year": county.certified_roll_year or "",
        "settings": json.dumps(county.settings),
    }
    data.update(changes)
    return data


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


# --- who may enter the admin, and what the index shows -----------------------------------------


def test_index_shows_county_data_apps_to_staff_with_a_role(county):
    response = client_for(staff(county, "viewer", "v")).get(reverse("admin:index"))

    assert response.status_code == 200
    apps = {app["app_label"]: {m["object_name"] for m in app["models"]} for app in response.context["app_list"]}
    assert {"Property", "Sale", "PropertyValue", "PropertyChange", "Neighborhood"} <= apps["properties"]
    assert apps["counties"] == {"County"}
    assert apps["reporting"] == {"ReportJob"}


def test_staff_without_any_county_role_sees_no_county_data(db):
    user = UserFactory(username="norole", is_staff=True)
    client = client_for(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    labels = {app["app_label"] for app in response.context["app_list"]}
    assert not labels & {"properties", "counties", "reporting"}
    assert client.get(reverse("admin:properties_property_changelist")).status_code == 403


def test_a_role_without_staff_status_does_not_open_the_admin(county):
    user = user_with_role(county, "county_admin", username="notstaff")

    response = client_for(user).get(reverse("admin:properties_property_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_admin_index_links_the_rq_dashboard_for_operators(county):
    operator = UserFactory(username="ops", is_staff=True, is_superuser=True)
    html = client_for(operator).get(reverse("admin:index")).content.decode()
    assert reverse("django_rq:home") == "/admin/rq/"
    assert 'href="/admin/rq/"' in html and "Background jobs" in html
    assert client_for(operator).get("/admin/rq/").status_code == 200


def test_county_staff_cannot_reach_the_cross_county_rq_dashboard(county):
    county_admin = staff(county, "county_admin", "ca")
    assert "Background jobs" not in client_for(county_admin).get(reverse("admin:index")).content.decode()
    response = client_for(county_admin).get("/admin/rq/")
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    # Neither django-rq's own admin dashboard nor its stats API is mounted for staff to reach.
    for url in ["/admin/django_rq/dashboard/", "/admin/rq/stats.json", "/admin/rq/queues/0/empty/"]:
        response = client_for(county_admin).get(url)
        assert response.status_code in (302, 404), url
        assert response.status_code == 404 or reverse("admin:login") in response["Location"], url


# --- County admin ------------------------------------------------------------------------------


def test_county_list_shows_only_the_users_counties(county, other_county):
    response = client_for(staff(county, "viewer", "v")).get(reverse("admin:counties_county_changelist"))

    assert changelist_ids(response) == {county.pk}
    assert client_for(staff(county, "viewer", "v2")).get(
        reverse("admin:counties_county_change", args=[other_county.pk])
    ).status_code == 302  # fmt: skip


def test_county_admin_may_change_their_county(county):
    client = client_for(staff(county, "county_admin", "ca"))
    url = reverse("admin:counties_county_change", args=[county.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    assert "slug" not in form.fields and "fips_code" not in form.fields and "is_active" not in form.fields

    response = client.post(url, county_form(county, name="Benton County", working_roll_year=2026))

    assert response.status_code == 302
    county.refresh_from_db()
    assert county.name == "Benton County" and county.working_roll_year == 2026


@pytest.mark.parametrize("role", ["appraiser", "viewer", "data_steward"])
def test_other_roles_may_view_but_not_change_the_county(county, role):
    client = client_for(staff(county, role, "someone"))
    url = reverse("admin:counties_county_change", args=[county.pk])

    assert client.get(url).status_code == 200
    assert client.post(url, county_form(county, name="Renamed")).status_code == 403
    county.refresh_from_db()
    assert county.name == "Benton"


BENTON_SETTINGS = {
    "valid_sale_codes": ["00"],
    "ratio_study": {"min_ratio": 0.25, "max_ratio": 1.75, "min_sales": 5, "sale_price_deduction": 0.01},
    "local_crs_epsg": 2927,
    "assessment_date": "01-01",
}


def settings_errors(response) -> list[str]:
    assert response.status_code == 200  # the form again, not a redirect after saving
    return response.context["adminform"].form.errors["settings"]


@pytest.mark.parametrize(
    "settings, expected",
    [
        (
            "{}",
            [
                "settings.valid_sale_codes: missing.",
                "settings.ratio_study: missing.",
                "settings.local_crs_epsg: missing.",
            ],
        ),
        (
            {**BENTON_SETTINGS, "ratio_study": {"min_ratio": 6.0, "max_ratio": 1.75, "min_sales": 5}},
            ["settings.ratio_study.min_ratio: must be below max_ratio (1.75), not 6.0."],
        ),
        (
            {**BENTON_SETTINGS, "ratio_study": {"min_ratio": "0.25", "max_ratio": 1.75, "min_sales": 0}},
            [
                "settings.ratio_study.min_ratio: must be a number, not '0.25'.",
                "settings.ratio_study.min_sales: must be greater than 0, not 0.",
            ],
        ),
        (
            {**BENTON_SETTINGS, "ratio_study": {"min_ratio": 0.25}},
            ["settings.ratio_study.max_ratio: missing.", "settings.ratio_study.min_sales: missing."],
        ),
        (
            {**BENTON_SETTINGS, "valid_sale_code": ["00"]},
            ["settings: unknown key 'valid_sale_code' (did you mean 'valid_sale_codes'?)"],
        ),
        ({**BENTON_SETTINGS, "local_crs_epsg": 4326}, ["settings.local_crs_epsg: 4326 (WGS 84) is geographic"]),
        ("[]", ["settings: must be a mapping, not a list."]),
    ],
    ids=[
        "empty",
        "min ratio above max",
        "wrong types",
        "partial ratio_study",
        "unknown key",
        "geographic CRS",
        "a list",
    ],
)
def test_county_settings_that_setup_county_would_refuse_are_refused(county, settings, expected):
    county.settings = BENTON_SETTINGS
    county.save()
    before = County.objects.values().get(pk=county.pk)
    client = client_for(staff(county, "county_admin", "ca"))
    url = reverse("admin:counties_county_change", args=[county.pk])
    posted = settings if isinstance(settings, str) else json.dumps(settings)

    response = client.post(url, county_form(county, name="Renamed", settings=posted))

    errors = settings_errors(response)
    for text in expected:
        assert any(error.startswith(text) for error in errors), (text, errors)
    assert len(errors) == len(expected)
    assert County.objects.values().get(pk=county.pk) == before  # settings unchanged, nor the name beside them
    assert escape(expected[0]) in response.content.decode()  # shown on the form, path and reason


def test_a_valid_settings_change_is_saved_normalised(county):
    county.settings = BENTON_SETTINGS
    county.save()
    client = client_for(staff(county, "county_admin", "ca"))
    url = reverse("admin:counties_county_change", args=[county.pk])
    changed = {
        **BENTON_SETTINGS,
        "valid_sale_codes": [" 00 ", "01"],
        "ratio_study": {**BENTON_SETTINGS["ratio_study"], "max_ratio": 2, "iqr_multiplier": None},
    }

    response = client.post(url, county_form(county, settings=json.dumps(changed)))

    assert response.status_code == 302
    county.refresh_from_db()
    assert county.settings == {
        **BENTON_SETTINGS,
        "valid_sale_codes": ["00", "01"],
        "ratio_study": {**BENTON_SETTINGS["ratio_study"], "max_ratio": 2.0, "iqr_multiplier": None},
    }
    assert isinstance(county.settings["ratio_study"]["max_ratio"], float)


def test_a_new_county_needs_complete_settings(superuser):
    client = client_for(superuser)
    data = {
        "name": "Yakima",
        "slug": "yakima-wa",
        "state": "WA",
        "fips_code": "53077",
        "timezone": "America/Los_Angeles",
        "working_roll_year": 2025,
        "certified_roll_year": "",
        "is_active": "on",
    }
    add = reverse("admin:counties_county_add")
    # The add form offers the defaults, so a county is created complete unless someone empties the box.
    assert json.loads(client.get(add).context["adminform"].form["settings"].value()) == default_county_settings()

    assert settings_errors(client.post(add, {**data, "settings": "{}"}))
    assert settings_errors(client.post(add, {**data, "settings": ""})) == ["settings: must be a mapping, not empty."]
    assert not County.objects.filter(slug="yakima-wa").exists()


def test_a_demo_county_can_still_be_edited(superuser):
    call_command("generate_demo_county", "--slug", "demo", "--parcels", "5", "--fips", "53990", stdout=StringIO())
    demo = County.objects.get(slug="demo")
    before = demo.settings
    assert "demo_model" in before  # the generator's own keys are part of valid settings

    response = client_for(superuser).post(
        reverse("admin:counties_county_change", args=[demo.pk]),
        {**county_form(demo, name="Demo County (training)"), "state": "WA", "is_active": "on", "fips_code": "53990"},
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    demo.refresh_from_db()
    assert demo.name == "Demo County (training)"
    assert demo.settings == before


def test_only_superusers_add_or_delete_counties(county, superuser):
    county_admin = client_for(staff(county, "county_admin", "ca"))
    assert county_admin.get(reverse("admin:counties_county_add")).status_code == 403
    assert (
        county_admin.post(reverse("admin:counties_county_delete", args=[county.pk]), {"post": "yes"}).status_code == 403
    )
    assert County.objects.filter(pk=county.pk).exists()

    response = client_for(superuser).post(
        reverse("admin:counties_county_add"),
        {
            "name": "Yakima",
            "slug": "yakima-wa",
            "state": "WA",
            "fips_code": "53077",
            "timezone": "America/Los_Angeles",
            "working_roll_year": 2025,
            "certified_roll_year": "",
            "settings": json.dumps(default_county_settings()),
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    yakima = County.objects.get(slug="yakima-wa")
    assert set(Group.objects.filter(name__startswith="yakima-wa:").values_list("name", flat=True)) == {
        f"yakima-wa:{role}" for role in ROLES
    }
    appraiser = staff(yakima, "appraiser", "yakima_appraiser")
    assert client_for(appraiser).get(reverse("admin:counties_county_change", args=[yakima.pk])).status_code == 200


# --- neighborhoods: foreign-key choices are the counties the user may change ------------------


def test_neighborhood_county_choices_are_the_changeable_counties(county, other_county):
    user = staff(county, "appraiser", "a")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=other_county, roles=["viewer"])
    client = client_for(user)
    url = reverse("admin:properties_neighborhood_add")

    page = client.get(url)
    assert list(page.context["adminform"].form.fields["county"].queryset) == [county]

    refused = client.post(url, {"county": other_county.pk, "code": "X1", "name": "Theirs"})
    assert refused.status_code == 200 and "county" in refused.context["adminform"].form.errors
    assert client.post(url, {"county": county.pk, "code": "X1", "name": "Ours"}).status_code == 302
    assert list(Neighborhood.objects.values_list("county__slug", "code")) == [(county.slug, "X1")]


# --- report jobs -------------------------------------------------------------------------------


def test_report_jobs_are_listed_for_their_county_only_and_read_only(county, other_county):
    user = staff(county, "viewer", "v")
    own = ReportJob.objects.create(
        county=county,
        requested_by=user,
        status="failed",
        parameters={"report": "assessment_roll", "roll_year": 2025},
        result={"rows": 0},
        error_message="The roll year has no values.",
        log=[{"at": "2025-01-01T00:00:00Z", "level": "error", "message": "no <values>"}],
    )
    theirs = ReportJob.objects.create(county=other_county)
    client = client_for(user)

    response = client.get(reverse("admin:reporting_reportjob_changelist"))
    assert response.status_code == 200
    assert changelist_ids(response) == {own.pk}

    page = client.get(reverse("admin:reporting_reportjob_change", args=[own.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "assessment_roll" in html and "The roll year has no values." in html
    assert "no &lt;values&gt;" in html  # log text is escaped
    assert 'name="_save"' not in html

    assert client.get(reverse("admin:reporting_reportjob_change", args=[theirs.pk])).status_code == 302
    assert client.get(reverse("admin:reporting_reportjob_add")).status_code == 403
    url = reverse("admin:reporting_reportjob_change", args=[own.pk])
    assert client.post(url, {"status": "completed"}).status_code == 403
    own.refresh_from_db()
    assert own.status == "failed"


def test_superuser_sees_every_county(county, other_county, superuser):
    PropertyFactory(county=county)
    PropertyFactory(county=other_county)

    response = client_for(superuser).get(reverse("admin:properties_property_changelist"))

    assert {p.county_id for p in response.context["cl"].result_list} == {county.pk, other_county.pk}


def test_the_demo_marker_cannot_be_forged_in_the_admin(county):
    """A county admin who wrote the generator's marker into a real county could have it deleted by
    `generate_demo_county --replace`: the admin refuses the generator's keys, set or changed."""
    client = client_for(staff(county, "county_admin", "ca"))
    url = reverse("admin:counties_county_change", args=[county.pk])
    forged = {
        **county.settings,
        "generated_by": {"command": "generate_demo_county", "slug": county.slug, "fips_code": county.fips_code},
    }
    before = County.objects.get(pk=county.pk).settings
    errors = settings_errors(client.post(url, county_form(county, settings=json.dumps(forged))))
    assert errors == ["settings.generated_by: written only by generate_demo_county; it cannot be set or changed here."]
    assert County.objects.get(pk=county.pk).settings == before
