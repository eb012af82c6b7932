"""Admin for parcels, sales, values and the audit trail: county scoping, audit on save, import/export."""

import csv
import io

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from properties.models import Property, PropertyChange, PropertyValue, Sale
from terrafusion.testing.admin import changelist_ids, client_for, staff
from terrafusion.testing.factories import (
    CountyFactory,
    NeighborhoodFactory,
    PropertyFactory,
    PropertyValueFactory,
    SaleFactory,
)

pytestmark = pytest.mark.django_db


# --- helpers ---------------------------------------------------------------------------------


def _widget_value(value):
    if value is None:
        return ""
    return value


def form_post_data(response) -> dict:
    """The POST body the change page's form would send unchanged: main form, inline forms, management forms."""
    data = {}

    def add_form(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            else:
                data[key] = _widget_value(value)

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            add_form(form)
    return data


def csv_upload(rows: list[dict], name: str = "parcels.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(), content_type="text/csv")


def format_index(model, *, export: bool = False) -> str:
    model_admin = admin.site.get_model_admin(model)
    formats = model_admin.get_export_formats() if export else model_admin.get_import_formats()
    return str([f.__name__ for f in formats].index("CSV"))


def import_preview(client, model, rows, name="parcels.csv"):
    url = reverse(f"admin:properties_{model._meta.model_name}_import")
    return client.post(url, {"format": format_index(model), "resource": "0", "import_file": csv_upload(rows, name)})


def import_confirm(client, model, preview):
    confirm = preview.context["confirm_form"]
    url = reverse(f"admin:properties_{model._meta.model_name}_process_import")
    return client.post(url, {key: confirm.initial[key] for key in confirm.fields})


def property_row(county, **values) -> dict:
    row = {
        "county": county.slug,
        "property_id": "777001",
        "parcel_number": "1-2-3",
        "property_type": "R",
        "class_code": "11",
        "neighborhood": "",
        "situs_address": "1 Import Way",
        "owner_name": "Imported Owner",
        "market_value": "250000",
        "value_year": "2025",
        "is_active": "1",
    }
    row.update(values)
    return row


@pytest.fixture
def appraiser_a(county):
    return staff(county, "appraiser", "appraiser_a")


@pytest.fixture
def viewer_a(county):
    return staff(county, "viewer", "viewer_a")


# --- changelist: county scoping, search, filters -----------------------------------------------


def test_changelist_lists_only_the_users_county(county, other_county, appraiser_a):
    own = PropertyFactory(county=county)
    PropertyFactory(county=other_county)

    response = client_for(appraiser_a).get(reverse("admin:properties_property_changelist"))

    assert response.status_code == 200
    assert changelist_ids(response) == {own.pk}
    assert response.context["cl"].show_full_result_count is False


def test_change_page_of_another_county_is_not_found(other_county, appraiser_a):
    theirs = PropertyFactory(county=other_county)

    response = client_for(appraiser_a).get(reverse("admin:properties_property_change", args=[theirs.pk]))

    # Django's admin answers a missing object with a redirect to the index and a "doesn't exist" message.
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_other_county_objects_are_hidden_across_the_admin(county, other_county, appraiser_a):
    client = client_for(appraiser_a)
    theirs = PropertyFactory(county=other_county)
    sale = SaleFactory(property=theirs)
    value = PropertyValueFactory(property=theirs)
    nbhd = NeighborhoodFactory(county=other_county)
    for route, pk in [
        ("admin:properties_sale_change", sale.pk),
        ("admin:properties_propertyvalue_change", value.pk),
        ("admin:properties_neighborhood_change", nbhd.pk),
    ]:
        assert client.get(reverse(route, args=[pk])).status_code == 302, route
    for route in ["sale", "propertyvalue", "neighborhood"]:
        response = client.get(reverse(f"admin:properties_{route}_changelist"))
        assert response.status_code == 200
        assert changelist_ids(response) == set(), route


@pytest.mark.parametrize(
    ("query", "expected"),
    [("12-34", {"match"}), ("Orchard", {"match"}), ("zebulon", {"match"}), ("99-", set())],
)
def test_search_by_parcel_number_address_and_owner(county, other_county, appraiser_a, query, expected):
    match = PropertyFactory(
        county=county, parcel_number="12-34-5678", situs_address="9 Orchard Ln", owner_name="Zebulon Pike"
    )
    PropertyFactory(county=county, parcel_number="55-66-7777", situs_address="1 Main St", owner_name="Other")
    PropertyFactory(county=other_county, parcel_number="12-34-9999", situs_address="9 Orchard Ln", owner_name="Zebulon")

    response = client_for(appraiser_a).get(reverse("admin:properties_property_changelist"), {"q": query})

    assert response.status_code == 200
    assert changelist_ids(response) == ({match.pk} if expected else set())


def test_filters_by_neighborhood_class_type_and_active(county, appraiser_a):
    north = NeighborhoodFactory(county=county, code="N1", name="North")
    south = NeighborhoodFactory(county=county, code="S1", name="South")
    a = PropertyFactory(county=county, neighborhood=north, class_code="11", is_active=True)
    b = PropertyFactory(county=county, neighborhood=south, class_code="83", is_active=True)
    c = PropertyFactory(county=county, neighborhood=south, class_code="11", is_active=False, property_type="P")
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_changelist")

    assert changelist_ids(client.get(url, {"neighborhood__id__exact": north.pk})) == {a.pk}
    assert changelist_ids(client.get(url, {"class_code": "83"})) == {b.pk}
    assert changelist_ids(client.get(url, {"is_active__exact": "0"})) == {c.pk}
    assert changelist_ids(client.get(url, {"property_type__exact": "P"})) == {c.pk}


def test_filtering_by_a_county_not_offered_lists_nothing(county, other_county, appraiser_a):
    """A one-county user has no county filter to click, but a county in the URL must still filter."""
    own = PropertyFactory(county=county)
    url = reverse("admin:properties_property_changelist")
    client = client_for(appraiser_a)

    assert changelist_ids(client.get(url, {"county__id__exact": other_county.pk})) == set()
    assert changelist_ids(client.get(url, {"county__id__exact": county.pk})) == {own.pk}


def test_county_and_neighborhood_filters_offer_only_the_users_counties(county, other_county):
    third = CountyFactory(slug="walla-walla-wa", name="Walla Walla", fips_code="53071")
    user = staff(county, "viewer", "two_counties")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=third, roles=["viewer"])
    NeighborhoodFactory(county=county, code="B-NB", name="Benton nbhd")
    NeighborhoodFactory(county=other_county, code="F-NB", name="Franklin nbhd")
    PropertyFactory(county=county)

    response = client_for(user).get(reverse("admin:properties_property_changelist"))

    choices = {
        spec.title: [str(display) for _, display in spec.lookup_choices]
        for spec in response.context["cl"].filter_specs
        if hasattr(spec, "lookup_choices")
    }
    assert sorted(choices["county"]) == ["Benton, WA", "Walla Walla, WA"]
    assert any("Benton nbhd" in c for c in choices["neighborhood"])
    assert not any("Franklin" in c for c in choices["neighborhood"])
    assert "Franklin" not in response.content.decode()


def test_changelist_queries_do_not_grow_with_rows(county, appraiser_a):
    nbhd = NeighborhoodFactory(county=county)
    PropertyFactory.create_batch(3, county=county, neighborhood=nbhd)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_changelist")
    client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    PropertyFactory.create_batch(12, county=county, neighborhood=nbhd)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert len(changelist_ids(response)) == 15
    assert len(many.captured_queries) == len(few.captured_queries)
    # No COUNT(*) of the whole table besides the paginator's filtered count.
    assert sum("COUNT(" in q["sql"].upper() for q in many.captured_queries) == 1


# --- change page ---------------------------------------------------------------------------


def test_change_page_draws_the_parcel_and_shows_value_history_and_sales(county, appraiser_a):
    prop = PropertyFactory(county=county)
    PropertyValueFactory(property=prop, roll_year=2023, source="pacs", market_value=271828)
    SaleFactory(property=prop, sale_price=314159)

    response = client_for(appraiser_a).get(reverse("admin:properties_property_change", args=[prop.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    # The admin's own theme icons are SVG too: look for the parcel drawing itself.
    assert '<svg xmlns="http://www.w3.org/2000/svg" width="320"' in html and 'aria-label="parcel shape"' in html
    assert '<path fill-rule="evenodd"' in html
    assert "value history" in html.lower()
    assert "271828" in html
    assert "314159" in html
    form = response.context["adminform"].form
    assert "geometry" not in form.fields  # never edited as raw bytes


def test_change_page_without_geometry_says_so(county, appraiser_a):
    prop = PropertyFactory(county=county, geometry=None)

    response = client_for(appraiser_a).get(reverse("admin:properties_property_change", args=[prop.pk]))

    assert response.status_code == 200
    assert "No geometry on file." in response.content.decode()
    assert 'aria-label="parcel shape"' not in response.content.decode()


def test_saving_a_change_writes_one_audited_change(county, appraiser_a):
    prop = PropertyFactory(county=county, owner_name="Old Owner", market_value=300000, living_area=1800)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data.update(owner_name="New Owner", improvement_value="245000", market_value="325000")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    prop.refresh_from_db()
    assert prop.owner_name == "New Owner" and prop.market_value == 325000
    changes = list(PropertyChange.objects.filter(property=prop))
    assert len(changes) == 1
    change = changes[0]
    assert change.user == appraiser_a
    assert change.actor_kind == "user" and change.source == "admin"
    assert change.changes == {
        "owner_name": {"old": "Old Owner", "new": "New Owner"},
        "improvement_value": {"old": 220000, "new": 245000},
        "market_value": {"old": 300000, "new": 325000},
        # The value history's manual row for the roll year is created, and that is on the record too.
        "values[2025/manual].land_value": {"old": None, "new": 80000},
        "values[2025/manual].improvement_value": {"old": None, "new": 245000},
        "values[2025/manual].market_value": {"old": None, "new": 325000},
        "values[2025/manual].assessed_value": {"old": None, "new": 300000},
    }
    manual = PropertyValue.objects.get(property=prop, source="manual", roll_year=2025)
    assert manual.market_value == 325000

    # The audit trail is listed on the change page.
    page = client.get(url).content.decode()
    assert "New Owner" in page and "appraiser_a" in page


def test_saving_an_unchanged_form_records_nothing(county, appraiser_a):
    prop = PropertyFactory(county=county)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])

    response = client.post(url, form_post_data(client.get(url)))

    assert response.status_code == 302
    assert not PropertyChange.objects.filter(property=prop).exists()


def test_neighborhood_of_another_county_is_refused(county, other_county, appraiser_a):
    prop = PropertyFactory(county=county)
    theirs = NeighborhoodFactory(county=other_county)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data["neighborhood"] = theirs.pk

    response = client.post(url, data)

    assert response.status_code == 200
    assert "neighborhood" in response.context["adminform"].form.errors
    prop.refresh_from_db()
    assert prop.neighborhood_id is None
    assert not PropertyChange.objects.exists()


def test_new_property_cannot_take_a_neighborhood_of_another_county(county, other_county):
    user = staff(county, "appraiser", "both")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=other_county, roles=["appraiser"])
    theirs = NeighborhoodFactory(county=other_county)
    client = client_for(user)
    url = reverse("admin:properties_property_add")
    data = form_post_data(client.get(url))
    data.update(
        {
            "county": county.pk,
            "neighborhood": theirs.pk,
            "property_id": "31337",
            "parcel_number": "P",
            "is_active": "on",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["neighborhood"] == ["This neighborhood belongs to another county."]
    assert not Property.objects.filter(property_id=31337).exists()


def test_viewer_can_view_but_not_change(county, viewer_a):
    prop = PropertyFactory(county=county, owner_name="Kept")
    client = client_for(viewer_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert 'aria-label="parcel shape"' in page.content.decode()
    assert 'name="_save"' not in page.content.decode()

    response = client.post(url, {"owner_name": "Changed", "parcel_number": prop.parcel_number})

    assert response.status_code == 403
    prop.refresh_from_db()
    assert prop.owner_name == "Kept"
    assert not PropertyChange.objects.exists()
    assert client.get(reverse("admin:properties_property_add")).status_code == 403


def test_viewer_in_one_county_cannot_change_there_even_if_appraiser_elsewhere(county, other_county):
    user = staff(county, "appraiser", "mixed")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=other_county, roles=["viewer"])
    theirs = PropertyFactory(county=other_county, owner_name="Kept")
    client = client_for(user)
    url = reverse("admin:properties_property_change", args=[theirs.pk])
    assert client.get(url).status_code == 200
    data = form_post_data(client.get(url))
    data["owner_name"] = "Changed"

    assert client.post(url, data).status_code == 403
    theirs.refresh_from_db()
    assert theirs.owner_name == "Kept"


def test_add_offers_only_changeable_counties_and_refuses_others(county, other_county, appraiser_a):
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_add")
    page = client.get(url)
    assert list(page.context["adminform"].form.fields["county"].queryset) == [county]

    data = form_post_data(page)
    data.update(
        {
            "county": other_county.pk,
            "property_id": "424242",
            "parcel_number": "NEW-1",
            "property_type": "R",
            "is_active": "on",
            "sales-TOTAL_FORMS": "0",
            "sales-INITIAL_FORMS": "0",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 200
    assert "county" in response.context["adminform"].form.errors
    assert not Property.objects.filter(property_id=424242).exists()

    data["county"] = county.pk
    response = client.post(url, data)
    assert response.status_code == 302
    created = Property.objects.get(property_id=424242)
    change = PropertyChange.objects.get(property=created)
    assert change.user == appraiser_a
    assert change.changes["parcel_number"] == {"old": None, "new": "NEW-1"}


def test_save_into_a_county_the_user_cannot_change_is_refused(rf, county, other_county, appraiser_a):
    """The last line: save_model refuses even if a form let the county through."""
    from django.core.exceptions import PermissionDenied

    model_admin = admin.site.get_model_admin(Property)
    request = rf.post("/")
    request.user = appraiser_a
    prop = PropertyFactory.build(county=other_county, property_id=5150, parcel_number="X")
    with pytest.raises(PermissionDenied):
        model_admin.save_model(request, prop, form=None, change=False)
    assert not Property.objects.filter(property_id=5150).exists()


def test_sale_inline_is_editable_by_appraiser(county, appraiser_a):
    prop = PropertyFactory(county=county)
    sale = SaleFactory(property=prop, sale_price=300000, is_valid=True)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data["sales-0-is_valid"] = ""
    data.pop("sales-0-is_valid")
    data["sales-0-validity_code"] = "12"

    response = client.post(url, data)

    assert response.status_code == 302
    sale.refresh_from_db()
    assert sale.is_valid is False and sale.validity_code == "12"


# --- value history and audit trail admins ----------------------------------------------------


def test_value_history_admin_audits_manual_corrections_and_locks_others(county, appraiser_a):
    prop = PropertyFactory(county=county)
    manual = PropertyValueFactory(property=prop, source="manual", roll_year=2025, market_value=300000)
    pacs = PropertyValueFactory(property=prop, source="pacs", roll_year=2025, market_value=300000)
    client = client_for(appraiser_a)

    url = reverse("admin:properties_propertyvalue_change", args=[manual.pk])
    data = form_post_data(client.get(url))
    data.update(improvement_value="230000", market_value="310000")
    assert client.post(url, data).status_code == 302
    manual.refresh_from_db()
    assert manual.market_value == 310000
    change = PropertyChange.objects.get(property=prop)
    assert change.changes == {
        "values[2025/manual].improvement_value": {"old": 220000, "new": 230000},
        "values[2025/manual].market_value": {"old": 300000, "new": 310000},
    }
    assert change.user == appraiser_a

    pacs_url = reverse("admin:properties_propertyvalue_change", args=[pacs.pk])
    assert client.post(pacs_url, {"market_value": "1"}).status_code == 403
    assert client.get(reverse("admin:properties_propertyvalue_add")).status_code == 403


def test_property_change_admin_is_read_only_and_scoped(county, other_county, appraiser_a):
    own = PropertyFactory(county=county)
    theirs = PropertyFactory(county=other_county)
    mine = PropertyChange.objects.create(
        county=county,
        property=own,
        property_key=own.property_id,
        actor_kind="user",
        source="api",
        changes={"owner_name": {"old": "A", "new": "B"}},
    )
    PropertyChange.objects.create(
        county=other_county, property=theirs, property_key=theirs.property_id, actor_kind="job", changes={}
    )
    superuser = staff(county, "viewer", "root")
    superuser.is_superuser = True
    superuser.save()

    for user in (appraiser_a, superuser):
        client = client_for(user)
        response = client.get(reverse("admin:properties_propertychange_changelist"))
        assert response.status_code == 200
        expected = {mine.pk} if user is appraiser_a else set(PropertyChange.objects.values_list("pk", flat=True))
        assert changelist_ids(response) == expected
        url = reverse("admin:properties_propertychange_change", args=[mine.pk])
        page = client.get(url)
        assert page.status_code == 200
        assert "owner_name" in page.content.decode() and 'name="_save"' not in page.content.decode()
        assert client.post(url, {"source": "tampered"}).status_code == 403
        assert client.get(reverse("admin:properties_propertychange_add")).status_code == 403
        assert client.post(reverse("admin:properties_propertychange_delete", args=[mine.pk])).status_code == 403
    mine.refresh_from_db()
    assert mine.source == "api"


# --- sales admin ---------------------------------------------------------------------------


def test_sales_admin_lists_filters_and_autocompletes_within_the_county(county, other_county, appraiser_a):
    own = SaleFactory(property=PropertyFactory(county=county, parcel_number="AA-1"), is_valid=True)
    invalid = SaleFactory(property=PropertyFactory(county=county, parcel_number="AA-2"), is_valid=False)
    SaleFactory(property=PropertyFactory(county=other_county, parcel_number="AA-3"))
    client = client_for(appraiser_a)
    url = reverse("admin:properties_sale_changelist")

    assert changelist_ids(client.get(url)) == {own.pk, invalid.pk}
    assert changelist_ids(client.get(url, {"is_valid__exact": "0"})) == {invalid.pk}
    assert changelist_ids(client.get(url, {"q": str(own.sale_id)})) == {own.pk}

    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "AA", "app_label": "properties", "model_name": "sale", "field_name": "property"},
    )
    assert response.status_code == 200
    assert sorted(r["text"].split(" ")[0] for r in response.json()["results"]) == ["AA-1", "AA-2"]


def test_sale_for_a_property_of_another_county_is_refused(county, other_county):
    user = staff(county, "appraiser", "two")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=other_county, roles=["appraiser"])
    theirs = PropertyFactory(county=other_county)
    client = client_for(user)
    response = client.post(
        reverse("admin:properties_sale_add"),
        {"county": county.pk, "property": theirs.pk, "sale_date": "2024-05-01", "sale_price": "100000"},
    )
    assert response.status_code == 200
    assert "property" in response.context["adminform"].form.errors
    assert not Sale.objects.exists()


# --- import / export -----------------------------------------------------------------------


def test_import_preview_shows_row_errors_and_writes_nothing(county, other_county, appraiser_a):
    existing = PropertyFactory(county=county, property_id=1001, market_value=300000)
    rows = [
        property_row(county, property_id="1001", market_value="-5"),  # negative value
        {**property_row(county, property_id="1002"), "county": "nowhere-wa"},  # unknown county
        property_row(other_county, property_id="1003"),  # a county the user may not change
        property_row(county, property_id="1004", neighborhood="ZZZ"),  # unknown neighborhood code
        property_row(county, property_id="1005", market_value="lots"),  # not a number
        property_row(county, property_id="1006"),  # fine
    ]

    response = import_preview(client_for(appraiser_a), Property, rows)

    assert response.status_code == 200
    result = response.context["result"]
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert not result.has_errors()  # no crash: every problem is a row validation error
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {1, 2, 3, 4, 5}
    html = response.content.decode()
    assert "Market value cannot be negative." in html
    # One message for a county that does not exist and for one the user may not change: nothing to probe.
    assert "No county &#x27;nowhere-wa&#x27; where you may change data." in html
    assert f"No county &#x27;{other_county.slug}&#x27; where you may change data." in html
    assert "You may not change" not in html and "Unknown county" not in html
    assert "Unknown neighborhood code" in html
    assert "is not a number" in html
    existing.refresh_from_db()
    assert existing.market_value == 300000
    assert not Property.objects.filter(property_id__in=[1002, 1003, 1004, 1005, 1006]).exists()
    assert not PropertyChange.objects.exists()
    assert not PropertyValue.objects.exists()


def test_import_confirm_writes_and_audits(county, appraiser_a):
    nbhd = NeighborhoodFactory(county=county, code="101")
    existing = PropertyFactory(county=county, property_id=2001, market_value=300000, owner_name="Before")
    unchanged = PropertyFactory(county=county, property_id=2002)
    rows = [
        property_row(
            county,
            property_id="2001",
            parcel_number=existing.parcel_number,
            owner_name="After",
            land_value="80000",
            improvement_value="270000",
            market_value="350000",
            neighborhood="101",
        ),
        property_row(county, property_id="2003", parcel_number="NEW-2003"),
    ]
    unchanged_row = {
        "county": county.slug,
        "property_id": str(unchanged.property_id),
        "owner_name": unchanged.owner_name,
    }
    client = client_for(appraiser_a)

    preview = import_preview(client, Property, rows, name="roll-2025.csv")
    assert preview.context["confirm_form"] is not None
    assert not PropertyChange.objects.exists()  # the dry run rolled back
    assert Property.objects.filter(property_id=2003).count() == 0

    response = import_confirm(client, Property, preview)
    assert response.status_code == 302

    existing.refresh_from_db()
    assert existing.owner_name == "After" and existing.market_value == 350000 and existing.neighborhood == nbhd
    update = PropertyChange.objects.get(property=existing)
    assert update.actor_kind == "import" and update.user == appraiser_a and update.source == "roll-2025.csv"
    assert update.changes["owner_name"] == {"old": "Before", "new": "After"}
    assert update.changes["market_value"] == {"old": 300000, "new": 350000}
    assert update.changes["neighborhood"] == {"old": None, "new": nbhd.pk}
    assert "situs_city" not in update.changes  # a column the file lacks is left alone
    assert PropertyValue.objects.get(property=existing, source="import", roll_year=2025).market_value == 350000

    created = Property.objects.get(county=county, property_id=2003)
    creation = PropertyChange.objects.get(property=created)
    assert creation.actor_kind == "import" and creation.changes["parcel_number"] == {"old": None, "new": "NEW-2003"}

    # Importing an unchanged row is skipped and records nothing.
    again = import_preview(client, Property, [unchanged_row], name="same.csv")
    import_confirm(client, Property, again)
    assert not PropertyChange.objects.filter(property=unchanged).exists()


def test_import_row_for_a_county_the_user_cannot_change_is_rejected(county, other_county):
    user = staff(county, "appraiser", "importer")
    from counties.services import user_set_county_roles

    user_set_county_roles(user=user, county=other_county, roles=["viewer"])  # may see, not change
    theirs = PropertyFactory(county=other_county, property_id=3001, owner_name="Theirs")
    client = client_for(user)

    response = import_preview(client, Property, [property_row(other_county, property_id="3001", owner_name="Mine")])

    result = response.context["result"]
    assert [row.error_dict for row in result.invalid_rows] == [
        {"county": [f"No county '{other_county.slug}' where you may change data."]}
    ]
    assert response.context.get("confirm_form") is None
    theirs.refresh_from_db()
    assert theirs.owner_name == "Theirs"

    # A forged confirm of the same file is refused row by row as well: nothing is written.
    from tablib import Dataset

    from properties.resources import PropertyResource

    dataset = Dataset(headers=["county", "property_id", "owner_name"])
    dataset.append([other_county.slug, "3001", "Mine"])
    outcome = PropertyResource(user=user).import_data(dataset, dry_run=False, user=user, file_name="x.csv")
    assert outcome.has_validation_errors()
    theirs.refresh_from_db()
    assert theirs.owner_name == "Theirs"


def test_viewer_cannot_import(county, viewer_a):
    client = client_for(viewer_a)
    assert client.get(reverse("admin:properties_property_import")).status_code == 403


def test_sales_import_by_county_slug_and_sale_id(county, other_county, appraiser_a):
    prop = PropertyFactory(county=county, property_id=4001)
    sale = SaleFactory(property=prop, sale_id=9001, sale_price=100000)
    PropertyFactory(county=other_county, property_id=4002)
    header = ["county", "sale_id", "property_id", "sale_date", "sale_price"]
    rows = [
        dict(zip(header, values, strict=True))
        for values in [
            (county.slug, "9001", "4001", "2024-03-01", "120000"),
            (county.slug, "9002", "4001", "2024-04-01", "130000"),
            (other_county.slug, "9003", "4002", "2024-04-01", "1"),  # a county the user may not change
            (county.slug, "9004", "4002", "2024-04-01", "1"),  # a property of another county
        ]
    ]
    client = client_for(appraiser_a)

    preview = import_preview(client, Sale, rows, name="sales.csv")
    errors = {row.number: row.error_dict for row in preview.context["result"].invalid_rows}
    assert set(errors) == {3, 4}
    assert "county" in errors[3]
    assert "Unknown property id 4002" in str(errors[4])

    preview = import_preview(client, Sale, rows[:2], name="sales.csv")
    import_confirm(client, Sale, preview)
    sale.refresh_from_db()
    assert sale.sale_price == 120000
    assert Sale.objects.get(county=county, sale_id=9002).property == prop


def test_export_contains_only_the_users_counties(county, other_county, viewer_a):
    own = PropertyFactory(county=county, parcel_number="OWN-1")
    PropertyFactory(county=other_county, parcel_number="THEIRS-1")
    client = client_for(viewer_a)

    response = client.post(
        reverse("admin:properties_property_export"),
        {
            "format": format_index(Property, export=True),
            "resource": "0",
            "propertyresource_county": "on",
            "propertyresource_property_id": "on",
            "propertyresource_parcel_number": "on",
        },
    )

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [{"county": county.slug, "property_id": str(own.property_id), "parcel_number": "OWN-1"}]


def test_sales_export_contains_only_the_users_counties(county, other_county, viewer_a):
    own = SaleFactory(property=PropertyFactory(county=county))
    SaleFactory(property=PropertyFactory(county=other_county))
    fields = {"saleresource_county": "on", "saleresource_sale_id": "on"}
    response = client_for(viewer_a).post(
        reverse("admin:properties_sale_export"), {"format": format_index(Sale, export=True), "resource": "0", **fields}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows == [{"county": county.slug, "sale_id": str(own.sale_id)}]
