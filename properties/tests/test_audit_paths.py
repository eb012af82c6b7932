"""No unaudited write: every path that creates, changes or deletes a parcel, a value row or a sale leaves its record.

One test (at least) per path: the admin's property add / change / delete (one and in bulk), sales through the
sales admin and through the property page's inline, value rows through the value admin, imports of parcels
and of sales, and the API's PATCH. Each proves the PropertyChange written, and for sales the parcel's
last-sale fields.
"""

import datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from properties.models import Property, PropertyChange, PropertyValue, Sale
from properties.tests.test_admin import form_post_data, import_confirm, import_preview, property_row
from terrafusion.testing.admin import changelist_ids, client_for, staff
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import PropertyFactory, PropertyValueFactory, SaleFactory

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def appraiser_a(county):
    return staff(county, "appraiser", "appraiser_a")


def last_sale(prop: Property) -> tuple:
    prop.refresh_from_db()
    return prop.last_sale_date, prop.last_sale_price


def trail(prop: Property) -> list[dict]:
    """The parcel's audit rows' changes, oldest first."""
    return [change.changes for change in PropertyChange.objects.filter(property_key=prop.property_id).order_by("pk")]


# --- parcels in the admin ------------------------------------------------------------------


def test_admin_add_records_the_new_parcel_and_its_value_row(county, appraiser_a):
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_add")
    data = form_post_data(client.get(url))
    data.update(
        county=county.pk,
        property_id="5001",
        parcel_number="NEW-5001",
        property_type="R",
        land_value="50000",
        improvement_value="150000",
        market_value="200000",
        is_active="on",
    )

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    prop = Property.objects.get(county=county, property_id=5001)
    (change,) = PropertyChange.objects.filter(property=prop)
    assert (change.user, change.actor_kind, change.source, change.property_key) == (appraiser_a, "user", "admin", 5001)
    assert change.changes["property_id"] == {"old": None, "new": 5001}
    assert change.changes["parcel_number"] == {"old": None, "new": "NEW-5001"}
    assert change.changes["value_year"] == {"old": None, "new": county.working_roll_year}
    assert change.changes["values[2025/manual].market_value"] == {"old": None, "new": 200000}
    row = PropertyValue.objects.get(property=prop)
    assert (row.roll_year, row.source, row.land_value, row.market_value) == (2025, "manual", 50000, 200000)


def test_admin_add_or_change_whose_values_do_not_add_up_is_a_form_error(county, appraiser_a):
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_add")
    data = form_post_data(client.get(url))
    data.update(county=county.pk, property_id="5002", parcel_number="P", property_type="R", is_active="on")
    data.update(land_value="50000", improvement_value="150000", market_value="210000")

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["market_value"] == [
        "Market value (210,000) must equal land value + improvement value (50,000 + 150,000 = 200,000)."
    ]
    assert not Property.objects.filter(property_id=5002).exists()

    prop = PropertyFactory(county=county)  # 80,000 + 220,000 = 300,000
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data["market_value"] = "300001"
    response = client.post(url, data)
    assert response.status_code == 200 and "market_value" in response.context["adminform"].form.errors
    assert not PropertyChange.objects.exists()


def test_admin_change_of_a_row_that_does_not_add_up_is_allowed_when_values_are_untouched(county, appraiser_a):
    """Old data (a load) that breaks the rule does not lock a parcel: only a change of its values must add up."""
    prop = PropertyFactory(county=county, land_value=1, improvement_value=1, market_value=300000)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data["owner_name"] = "Someone Else"

    assert client.post(url, data).status_code == 302
    assert trail(prop) == [{"owner_name": {"old": prop.owner_name, "new": "Someone Else"}}]


def test_admin_delete_records_the_parcel_its_values_and_sales_and_the_trail_survives(county, appraiser_a):
    prop = PropertyFactory(county=county, property_id=6001, parcel_number="DEL-1")
    PropertyValueFactory(property=prop, roll_year=2025, source="pacs")
    sale = SaleFactory(property=prop, sale_id=77, sale_date=D(2024, 5, 1), sale_price=290000)
    client = client_for(appraiser_a)
    change_url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(change_url))
    data["bedrooms"] = "4"
    client.post(change_url, data)  # an earlier change on the trail
    url = reverse("admin:properties_property_delete", args=[prop.pk])

    page = client.get(url)
    assert page.status_code == 200 and not page.context["protected"] and not page.context["perms_lacking"]
    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Property.objects.filter(pk=prop.pk).exists()
    assert not Sale.objects.filter(pk=sale.pk).exists() and not PropertyValue.objects.exists()
    earlier, deletion = PropertyChange.objects.filter(property_key=6001, county=county).order_by("pk")
    assert earlier.changes == {"bedrooms": {"old": 3, "new": 4}}
    assert earlier.property is None and deletion.property is None  # the link is cleared, the rows stay
    assert deletion.user == appraiser_a and deletion.source == "admin"
    recorded = deletion.changes
    assert recorded["property_id"] == {"old": 6001, "new": None}
    assert recorded["parcel_number"] == {"old": "DEL-1", "new": None}
    assert recorded["bedrooms"] == {"old": 4, "new": None}
    assert recorded["values[2025/pacs].market_value"] == {"old": 300000, "new": None}
    assert recorded["sales[77].sale_price"] == {"old": 290000, "new": None}
    assert recorded["sales[77].sale_date"] == {"old": "2024-05-01", "new": None}
    # The audit admin still finds the deleted parcel's trail by its property id.
    listing = client.get(reverse("admin:properties_propertychange_changelist"), {"q": "6001"})
    assert changelist_ids(listing) == {earlier.pk, deletion.pk}
    assert client.get(reverse("admin:properties_propertychange_changelist"), {"q": "DEL-"}).status_code == 200


def test_admin_refuses_to_delete_a_parcel_with_certified_values_and_says_why(county, appraiser_a):
    prop = PropertyFactory(county=county, parcel_number="CERT-1")
    PropertyValueFactory(property=prop, roll_year=2024, source="pacs", is_certified=True)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_delete", args=[prop.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert any("Parcel CERT-1 has certified values (2024)" in str(reason) for reason in page.context["protected"])
    assert "Deactivate it instead" in page.content.decode()
    response = client.post(url, {"post": "yes"})

    assert response.status_code == 200  # the same explanation again, not a 500 and not a delete
    assert Property.objects.filter(pk=prop.pk).exists() and PropertyValue.objects.filter(property=prop).exists()
    assert not PropertyChange.objects.exists()


def test_admin_bulk_delete_records_each_parcel_and_stops_at_certified_values(county, appraiser_a):
    first = PropertyFactory(county=county, property_id=7001)
    second = PropertyFactory(county=county, property_id=7002)
    SaleFactory(property=second, sale_id=None, sale_price=123000)
    certified = PropertyFactory(county=county, property_id=7003)
    PropertyValueFactory(property=certified, roll_year=2024, is_certified=True)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_changelist")

    refused = client.post(
        url, {"action": "delete_selected", "_selected_action": [certified.pk, first.pk], "post": "yes"}
    )
    assert refused.status_code == 200 and refused.context["protected"]
    assert Property.objects.filter(pk__in=[first.pk, certified.pk]).count() == 2

    response = client.post(url, {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"})

    assert response.status_code == 302
    assert not Property.objects.filter(pk__in=[first.pk, second.pk]).exists()
    records = {change.property_key: change.changes for change in PropertyChange.objects.all()}
    assert set(records) == {7001, 7002}
    (sale_price,) = [key for key in records[7002] if key.endswith(".sale_price")]
    assert sale_price.startswith("sales[id=") and records[7002][sale_price] == {"old": 123000, "new": None}


# --- sales in the sales admin ---------------------------------------------------------------


def test_sales_admin_add_change_delete_are_audited_and_keep_the_last_sale(county, appraiser_a):
    prop = PropertyFactory(county=county)
    client = client_for(appraiser_a)

    response = client.post(
        reverse("admin:properties_sale_add"),
        {
            "county": county.pk,
            "property": prop.pk,
            "sale_id": "9101",
            "sale_date": "2024-06-01",
            "sale_price": "310000",
            "is_valid": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    sale = Sale.objects.get(sale_id=9101)
    assert sale.county == county and sale.is_valid
    assert last_sale(prop) == (D(2024, 6, 1), 310000)

    url = reverse("admin:properties_sale_change", args=[sale.pk])
    data = form_post_data(client.get(url))
    data["sale_price"] = "315000"
    assert client.post(url, data).status_code == 302
    assert last_sale(prop) == (D(2024, 6, 1), 315000)

    assert client.post(reverse("admin:properties_sale_delete", args=[sale.pk]), {"post": "yes"}).status_code == 302
    assert not Sale.objects.exists()
    assert last_sale(prop) == (None, None)

    added, changed, deleted = trail(prop)
    assert added["sales[9101].sale_price"] == {"old": None, "new": 310000}
    assert added["sales[9101].sale_date"] == {"old": None, "new": "2024-06-01"}
    assert added["last_sale_price"] == {"old": None, "new": 310000}
    assert changed == {
        "sales[9101].sale_price": {"old": 310000, "new": 315000},
        "last_sale_price": {"old": 310000, "new": 315000},
    }
    assert deleted["sales[9101].sale_price"] == {"old": 315000, "new": None}
    assert deleted["last_sale_date"] == {"old": "2024-06-01", "new": None}
    assert all(c.user == appraiser_a and c.source == "admin" for c in PropertyChange.objects.all())


def test_sales_admin_bulk_delete_is_audited_per_parcel(county, appraiser_a):
    prop = PropertyFactory(county=county)
    other = PropertyFactory(county=county)
    client = client_for(appraiser_a)
    for sale_id, day, price in [(1, D(2023, 1, 1), 200000), (2, D(2024, 1, 1), 250000)]:
        client.post(
            reverse("admin:properties_sale_add"),
            {"county": county.pk, "property": prop.pk, "sale_id": sale_id, "sale_date": day, "sale_price": price},
        )
    client.post(
        reverse("admin:properties_sale_add"),
        {"county": county.pk, "property": other.pk, "sale_id": 3, "sale_date": "2022-01-01", "sale_price": "1"},
    )
    assert last_sale(prop) == (D(2024, 1, 1), 250000)
    newest, third = Sale.objects.get(sale_id=2), Sale.objects.get(sale_id=3)

    response = client.post(
        reverse("admin:properties_sale_changelist"),
        {"action": "delete_selected", "_selected_action": [newest.pk, third.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert list(Sale.objects.values_list("sale_id", flat=True)) == [1]
    assert last_sale(prop) == (D(2023, 1, 1), 200000) and last_sale(other) == (None, None)
    deleted = trail(prop)[-1]
    assert deleted["sales[2].sale_price"] == {"old": 250000, "new": None}
    assert deleted["last_sale_date"] == {"old": "2024-01-01", "new": "2023-01-01"}
    assert deleted["last_sale_price"] == {"old": 250000, "new": 200000}
    assert not any(key.startswith("sales[1].") for key in deleted)
    assert trail(other)[-1]["sales[3].sale_price"] == {"old": 1, "new": None}


# --- sales in the property page's inline ------------------------------------------------------


def test_sale_inline_add_change_delete_are_audited_and_keep_the_last_sale(county, appraiser_a):
    prop = PropertyFactory(county=county)
    old = SaleFactory(property=prop, sale_id=801, sale_date=D(2021, 3, 1), sale_price=200000)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])

    # Add a newer sale (not arm's length: it is still the last sale on record).
    data = form_post_data(client.get(url))
    data.update(
        {
            "sales-TOTAL_FORMS": "2",
            "sales-1-id": "",
            "sales-1-property": str(prop.pk),
            "sales-1-sale_id": "802",
            "sales-1-sale_date": "2024-02-01",
            "sales-1-sale_price": "150000",
            "sales-1-validity_code": "13",
        }
    )
    assert client.post(url, data).status_code == 302
    new = Sale.objects.get(sale_id=802)
    assert new.county == county and new.is_valid is False
    assert last_sale(prop) == (D(2024, 2, 1), 150000)

    # Change the old sale to be the newest.
    data = form_post_data(client.get(url))
    index = next(i for i in range(2) if str(data[f"sales-{i}-id"]) == str(old.pk))
    data[f"sales-{index}-sale_date"] = "2024-09-01"
    assert client.post(url, data).status_code == 302
    assert last_sale(prop) == (D(2024, 9, 1), 200000)

    # Delete it.
    data = form_post_data(client.get(url))
    index = next(i for i in range(2) if str(data[f"sales-{i}-id"]) == str(old.pk))
    data[f"sales-{index}-DELETE"] = "on"
    assert client.post(url, data).status_code == 302
    assert list(Sale.objects.values_list("sale_id", flat=True)) == [802]
    assert last_sale(prop) == (D(2024, 2, 1), 150000)

    added, changed, deleted = trail(prop)
    assert added["sales[802].sale_price"] == {"old": None, "new": 150000}
    assert added["sales[802].is_valid"] == {"old": None, "new": False}
    assert added["last_sale_date"] == {"old": None, "new": "2024-02-01"}
    assert changed == {
        "sales[801].sale_date": {"old": "2021-03-01", "new": "2024-09-01"},
        "last_sale_date": {"old": "2024-02-01", "new": "2024-09-01"},
        "last_sale_price": {"old": 150000, "new": 200000},
    }
    assert deleted["sales[801].sale_price"] == {"old": 200000, "new": None}
    assert deleted["last_sale_date"] == {"old": "2024-09-01", "new": "2024-02-01"}


def test_a_refusal_found_by_a_service_is_a_message_not_a_500_and_nothing_is_written(county, appraiser_a):
    """Two new inline sales with one legacy id pass their forms (each is unique against the database); the
    second sale_create finds the clash. The admin answers with a message, and the whole save is undone."""
    prop = PropertyFactory(county=county, owner_name="Before")
    client = client_for(appraiser_a)
    url = reverse("admin:properties_property_change", args=[prop.pk])
    data = form_post_data(client.get(url))
    data["owner_name"] = "After"
    data["sales-TOTAL_FORMS"] = "2"
    for index in (0, 1):
        data.update(
            {
                f"sales-{index}-id": "",
                f"sales-{index}-property": str(prop.pk),
                f"sales-{index}-sale_id": "999",
                f"sales-{index}-sale_date": f"2024-0{index + 1}-01",
                f"sales-{index}-sale_price": "100000",
            }
        )

    response = client.post(url, data, follow=True)

    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert messages == ["This parcel already has a sale with this legacy sale id."]
    assert not Sale.objects.exists() and not PropertyChange.objects.exists()
    prop.refresh_from_db()
    assert prop.owner_name == "Before"


# --- value rows in the value admin -----------------------------------------------------------


def test_value_admin_correction_must_add_up(county, appraiser_a):
    row = PropertyValueFactory(property=PropertyFactory(county=county), source="manual", roll_year=2025)
    client = client_for(appraiser_a)
    url = reverse("admin:properties_propertyvalue_change", args=[row.pk])
    data = form_post_data(client.get(url))
    data["market_value"] = "1"

    response = client.post(url, data)

    assert response.status_code == 200
    assert "market_value" in response.context["adminform"].form.errors
    row.refresh_from_db()
    assert row.market_value == 300000 and not PropertyChange.objects.exists()


# --- imports -------------------------------------------------------------------------------


def test_property_import_locks_each_existing_row_and_saves_through_the_services(county, appraiser_a):
    existing = PropertyFactory(county=county, property_id=8001, owner_name="Before")
    client = client_for(appraiser_a)
    rows = [{"county": county.slug, "property_id": "8001", "owner_name": "After"}]
    preview = import_preview(client, Property, rows, name="owners.csv")

    with CaptureQueriesContext(connection) as queries:
        assert import_confirm(client, Property, preview).status_code == 302

    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    # The instance loader's read is the lock (the file's row is applied to what is really there), then the
    # service locks again before it writes.
    assert any('"properties_property"."property_id" =' in sql for sql in locks), locks
    change = PropertyChange.objects.get(property=existing)
    assert change.actor_kind == "import" and change.source == "owners.csv" and change.user == appraiser_a
    assert change.changes == {"owner_name": {"old": "Before", "new": "After"}}


def test_property_import_rows_whose_values_do_not_add_up_are_row_errors(county, appraiser_a):
    PropertyFactory(county=county, property_id=8101)  # 80,000 + 220,000 = 300,000
    client = client_for(appraiser_a)
    rows = [
        # Land and improvements as they are, a new market value that does not add up.
        property_row(county, property_id="8101", land_value="80000", improvement_value="220000", market_value="350000"),
        property_row(county, property_id="8102", land_value="1", improvement_value="2"),
    ]

    preview = import_preview(client, Property, rows)

    errors = {row.number: row.error_dict for row in preview.context["result"].invalid_rows}
    assert set(errors) == {1, 2}
    assert "(80,000 + 220,000 = 300,000)" in errors[1]["market_value"][0]
    assert "(1 + 2 = 3)" in errors[2]["market_value"][0]
    assert not PropertyChange.objects.exists() and not Property.objects.filter(property_id=8102).exists()


def test_sales_import_is_audited_on_the_parcels_trail_and_keeps_the_last_sale(county, appraiser_a):
    prop = PropertyFactory(county=county, property_id=8201)
    other = PropertyFactory(county=county, property_id=8202)
    client = client_for(appraiser_a)
    header = ["county", "sale_id", "property_id", "sale_date", "sale_price", "is_valid"]
    rows = [
        dict(zip(header, values, strict=True))
        for values in [
            (county.slug, "5501", "8201", "2023-04-01", "280000", "1"),
            (county.slug, "5502", "8201", "2024-04-01", "90000", "0"),  # the latest, though not valid
        ]
    ]
    import_confirm(client, Sale, import_preview(client, Sale, rows, name="sales-2024.csv"))
    assert last_sale(prop) == (D(2024, 4, 1), 90000)
    first, second = PropertyChange.objects.filter(property=prop).order_by("pk")
    assert first.actor_kind == "import" and first.source == "sales-2024.csv" and first.user == appraiser_a
    assert first.changes["sales[5501].sale_price"] == {"old": None, "new": 280000}
    assert second.changes["sales[5502].is_valid"] == {"old": None, "new": False}
    assert second.changes["last_sale_price"] == {"old": 280000, "new": 90000}

    # A changed row is locked (with its parcel), re-read and audited; a sale cannot move to another parcel.
    rows = [
        dict(zip(header, (county.slug, "5502", "8201", "2022-04-01", "90000", "0"), strict=True)),
        dict(zip(header, (county.slug, "5501", "8202", "2023-04-01", "280000", "1"), strict=True)),
    ]
    preview = import_preview(client, Sale, rows, name="fix.csv")
    errors = {row.number: row.error_dict for row in preview.context["result"].invalid_rows}
    assert list(errors) == [2] and "stays with its parcel" in str(errors[2])
    import_confirm(client, Sale, import_preview(client, Sale, rows[:1], name="fix.csv"))
    assert last_sale(prop) == (D(2023, 4, 1), 280000) and last_sale(other) == (None, None)
    fix = PropertyChange.objects.filter(property=prop).latest("pk")
    assert fix.changes == {
        "sales[5502].sale_date": {"old": "2024-04-01", "new": "2022-04-01"},
        "last_sale_date": {"old": "2024-04-01", "new": "2023-04-01"},
        "last_sale_price": {"old": 90000, "new": 280000},
    }


# --- the API -------------------------------------------------------------------------------


def test_api_patch_is_audited_with_the_value_row_and_refused_when_values_do_not_add_up(county, appraiser):
    prop = PropertyFactory(county=county)
    PropertyValueFactory(property=prop, roll_year=2025, source="manual")
    client = bearer_client(appraiser)
    url = reverse("api:property-detail", args=[prop.pk])

    response = client.patch(
        url, {"land_value": 100000, "improvement_value": 230000, "market_value": 330000}, format="json"
    )

    assert response.status_code == 200, response.content
    (change,) = PropertyChange.objects.filter(property=prop)
    assert change.source == "api" and change.user == appraiser
    assert change.changes == {
        "land_value": {"old": 80000, "new": 100000},
        "improvement_value": {"old": 220000, "new": 230000},
        "market_value": {"old": 300000, "new": 330000},
        "values[2025/manual].land_value": {"old": 80000, "new": 100000},
        "values[2025/manual].improvement_value": {"old": 220000, "new": 230000},
        "values[2025/manual].market_value": {"old": 300000, "new": 330000},
    }

    refused = client.patch(url, {"land_value": 1}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["fields"] == {
        "market_value": ["Market value (330,000) must equal land value + improvement value (1 + 230,000 = 230,001)."]
    }
    assert PropertyChange.objects.filter(property=prop).count() == 1


def test_every_admin_that_writes_audited_models_saves_through_the_services():
    """A guard for the next admin: the writing admins override the writes Django would make without an audit."""
    for model, methods in [
        (Property, ("save_model", "delete_model", "delete_queryset", "save_formset")),
        (Sale, ("save_model", "delete_model", "delete_queryset")),
        (PropertyValue, ("save_model",)),
    ]:
        model_admin = admin.site.get_model_admin(model)
        for name in methods:
            assert getattr(type(model_admin), name).__module__ == "properties.admin", (model, name)


def test_property_field_lists_derive_from_one_place():
    """properties.fields is the one list: the service, admin form, import and API follow it."""
    from properties.api.serializers import PROPERTY_DETAIL_FIELDS, PropertyUpdateSerializer
    from properties.fields import LAST_SALE_FIELDS, PROPERTY_EDITABLE_FIELDS, PROPERTY_KEY_FIELDS
    from properties.resources import PropertyResource

    editable = set(PROPERTY_EDITABLE_FIELDS)
    assert set(PropertyUpdateSerializer.Meta.fields) == editable
    assert set(PROPERTY_DETAIL_FIELDS) >= editable | set(PROPERTY_KEY_FIELDS) | set(LAST_SALE_FIELDS)
    form_fields = set(admin.site.get_model_admin(Property).form.Meta.fields)
    assert form_fields == (editable - {"geometry"}) | set(PROPERTY_KEY_FIELDS)  # the polygon is drawn, not typed
    resource = PropertyResource()
    imported = {name for name, field in resource.fields.items() if not field.readonly}
    assert imported == (editable - {"geometry"}) | set(PROPERTY_KEY_FIELDS)
    assert {name for name, field in resource.fields.items() if field.readonly} == set(LAST_SALE_FIELDS)
