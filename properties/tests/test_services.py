"""The audit trail and the model's rules: every change records who, when, old and new."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from properties.choices import ActorKind
from properties.fields import VALUE_FIELDS
from properties.models import Property, PropertyChange, PropertyValue, Sale
from properties.services import (
    Actor,
    property_create,
    property_delete,
    property_delete_many,
    property_update,
    property_value_update,
    sale_create,
    sale_delete,
    sale_update,
)
from terrafusion.testing.factories import (
    NeighborhoodFactory,
    PropertyFactory,
    PropertyValueFactory,
    SaleFactory,
    square_wkb,
)

pytestmark = pytest.mark.django_db


def test_a_job_change_is_audited_with_the_job(county):
    import uuid

    prop = PropertyFactory(county=county, quality="average", bedrooms=3)
    job_id = uuid.uuid4()
    change = property_update(
        prop=prop, data={"quality": "good", "bedrooms": 4}, actor=Actor(kind=ActorKind.JOB, job_id=job_id, source="x")
    )
    assert change.changes == {"quality": {"old": "average", "new": "good"}, "bedrooms": {"old": 3, "new": 4}}
    assert (change.actor_kind, change.job_id, change.user) == ("job", job_id, None)
    assert change.changed_at is not None and change.county == county


def test_neighborhood_and_geometry_changes_are_audited_and_geometry_columns_follow(county, appraiser):
    prop = PropertyFactory(county=county)
    new_nbhd = NeighborhoodFactory(county=county, code="77")
    change = property_update(
        prop=prop,
        data={"neighborhood": new_nbhd, "geometry": square_wkb(-119.0, 46.0, 0.01)},
        actor=Actor.for_user(appraiser, "api"),
    )
    assert change.changes["neighborhood"] == {"old": None, "new": new_nbhd.pk}
    assert change.changes["geometry"]["new"].startswith("sha256:")
    prop.refresh_from_db()
    assert (prop.bbox_xmin, prop.bbox_ymax) == pytest.approx((-119.0, 46.01))
    assert prop.longitude == pytest.approx(-118.995)


def test_value_change_updates_the_manual_value_row_once(county, appraiser):
    prop = PropertyFactory(county=county)
    for market in (310000, 320000):
        property_update(
            prop=prop,
            data={"improvement_value": market - 80000, "market_value": market},
            actor=Actor.for_user(appraiser, "api"),
        )
    assert PropertyValue.objects.get(property=prop, roll_year=2025, source="manual").market_value == 320000
    assert PropertyChange.objects.filter(property=prop).count() == 2


def test_a_negative_value_is_refused_and_nothing_is_written(county, appraiser):
    prop = PropertyFactory(county=county)
    with pytest.raises(ValidationError) as caught:
        property_update(prop=prop, data={"land_value": -1}, actor=Actor.for_user(appraiser, "api"))
    assert "Land value cannot be negative." in str(caught.value)
    assert not PropertyChange.objects.exists()


def test_uneditable_fields_are_refused(county, appraiser):
    with pytest.raises(ValueError, match="Not editable: county, property_id"):
        property_update(
            prop=PropertyFactory(county=county),
            data={"county": None, "property_id": 1},
            actor=Actor.for_user(appraiser, "x"),
        )


def test_database_constraints(county, other_county):
    prop = PropertyFactory(county=county, property_id=42)
    PropertyFactory(county=other_county, property_id=42)  # the same legacy id in another county is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        PropertyFactory(county=county, property_id=42)
    PropertyValueFactory(property=prop, roll_year=2024, source="pacs")
    with pytest.raises(IntegrityError), transaction.atomic():
        PropertyValueFactory(property=prop, roll_year=2024, source="pacs")
    PropertyValueFactory(property=prop, roll_year=2024, source="valuation")  # another source is another row
    with pytest.raises(IntegrityError), transaction.atomic():
        PropertyValueFactory(property=prop, roll_year=2023, market_value=-5)
    with pytest.raises(IntegrityError), transaction.atomic():
        SaleFactory(property=prop, sale_price=-1)


def test_an_update_from_a_stale_object_keeps_a_concurrent_edit(county, appraiser):
    prop = PropertyFactory(county=county, living_area=1000, owner_name="A")
    stale = Property.objects.get(pk=prop.pk)
    Property.objects.filter(pk=prop.pk).update(living_area=2000)  # someone else's edit, after we loaded
    change = property_update(prop=stale, data={"owner_name": "B"}, actor=Actor.for_user(appraiser, "api"))
    assert change.changes == {"owner_name": {"old": "A", "new": "B"}}
    prop.refresh_from_db()
    assert (prop.living_area, prop.owner_name) == (2000, "B")


def test_neighborhoods_with_parcels_are_protected_and_a_parcels_trail_outlives_it(county, appraiser):
    from django.db.models import ProtectedError

    neighborhood = NeighborhoodFactory(county=county)
    prop = PropertyFactory(county=county, neighborhood=neighborhood, property_id=4242)
    with pytest.raises(ProtectedError), transaction.atomic():
        neighborhood.delete()
    change = property_update(prop=prop, data={"bedrooms": 5}, actor=Actor.for_user(appraiser, "api"))
    prop.delete()  # even a raw delete, outside the services, cannot take the audit trail with it
    change.refresh_from_db()
    assert (change.property, change.property_key, change.county) == (None, 4242, county)
    assert change.changes == {"bedrooms": {"old": 3, "new": 5}}


def test_values_without_a_roll_year_take_the_working_year_on_the_record(county, appraiser):
    prop = PropertyFactory(county=county, value_year=None)
    change = property_update(prop=prop, data={"assessed_value": 290000}, actor=Actor.for_user(appraiser, "api"))
    assert change.changes["value_year"] == {"old": None, "new": county.working_roll_year}
    assert PropertyValue.objects.get(property=prop, source="manual").roll_year == county.working_roll_year


# --- the rule "land + improvements = market" -----------------------------------------------------


def test_values_must_add_up_against_the_row_as_it_is_under_the_lock(county, appraiser):
    prop = PropertyFactory(county=county)  # 80,000 + 220,000 = 300,000
    stale = Property.objects.get(pk=prop.pk)
    # Someone else moves value from improvements to land (still adding up) after we loaded the parcel.
    Property.objects.filter(pk=prop.pk).update(land_value=100000, improvement_value=200000)
    with pytest.raises(ValidationError) as caught:
        # Adds up against the stale copy (80,000 + 230,000), not against the row (100,000 + 230,000).
        property_update(
            prop=stale,
            data={"improvement_value": 230000, "market_value": 310000},
            actor=Actor.for_user(appraiser, "api"),
        )
    assert caught.value.message_dict == {
        "market_value": [
            "Market value (310,000) must equal land value + improvement value (100,000 + 230,000 = 330,000)."
        ]
    }
    assert not PropertyChange.objects.exists()


def test_a_parcel_created_through_the_service_must_add_up_and_gets_a_roll_year(county, appraiser):
    actor = Actor.for_user(appraiser, "x")
    with pytest.raises(ValidationError, match="market_value"):
        property_create(
            prop=Property(county=county, property_id=1, parcel_number="A", land_value=1, improvement_value=1,
                          market_value=3),
            actor=actor,
        )  # fmt: skip
    # Unknown parts (here improvements) leave nothing to check.
    prop = Property(county=county, property_id=2, parcel_number="B", land_value=1, market_value=3)
    change = property_create(prop=prop, actor=actor)
    assert prop.value_year == county.working_roll_year == change.changes["value_year"]["new"]
    assert change.changes["values[2025/manual].land_value"] == {"old": None, "new": 1}
    assert "values[2025/manual].improvement_value" not in change.changes


def test_value_rows_other_than_uncertified_manual_ones_are_the_record_as_made(county, appraiser):
    actor = Actor.for_user(appraiser, "x")
    prop = PropertyFactory(county=county)
    for row in (
        PropertyValueFactory(property=prop, source="pacs"),
        PropertyValueFactory(property=prop, source="manual", roll_year=2024, is_certified=True),
    ):
        with pytest.raises(ValidationError, match="Only uncertified manual values can be corrected"):
            property_value_update(value=row, data={"assessed_value": 1}, actor=actor)
    row = PropertyValueFactory(property=prop, source="manual", roll_year=2023)
    with pytest.raises(ValidationError, match="market_value"):
        property_value_update(value=row, data={"land_value": 1}, actor=actor)
    change = property_value_update(value=row, data={"assessed_value": 1}, actor=actor)
    assert change.changes == {"values[2023/manual].assessed_value": {"old": 300000, "new": 1}}


# --- sales and the last sale ---------------------------------------------------------------------


def test_the_last_sale_is_the_latest_by_date_valid_or_not(county, appraiser):
    actor = Actor.for_user(appraiser, "x")
    prop = PropertyFactory(county=county)

    def add(sale_id, day, price, **extra):
        sale = Sale(property=prop, sale_id=sale_id, sale_date=day, sale_price=price, **extra)
        sale_create(sale=sale, actor=actor)
        prop.refresh_from_db()
        return sale

    valid = add(1, datetime.date(2023, 5, 1), 300000)
    assert (prop.last_sale_date, prop.last_sale_price) == (datetime.date(2023, 5, 1), 300000)
    family = add(2, datetime.date(2024, 1, 1), 10, is_valid=False, validity_code="13")
    assert (prop.last_sale_date, prop.last_sale_price) == (datetime.date(2024, 1, 1), 10)
    add(3, datetime.date(2024, 1, 1), 20)  # the same day: the higher legacy sale id is the later
    assert prop.last_sale_price == 20

    sale_update(sale=family, data={"sale_date": datetime.date(2024, 6, 1)}, actor=actor)
    prop.refresh_from_db()
    assert prop.last_sale_price == 10
    change = sale_delete(sale=family, actor=actor)
    prop.refresh_from_db()
    assert prop.last_sale_price == 20
    assert change.changes["sales[2].validity_code"] == {"old": "13", "new": None}
    assert change.changes["last_sale_price"] == {"old": 10, "new": 20}
    assert sale_update(sale=valid, data={"sale_price": 300000}, actor=actor) is None  # no change, no record


def test_a_sale_keeps_its_parcel_and_county(county, other_county, appraiser):
    actor = Actor.for_user(appraiser, "x")
    prop = PropertyFactory(county=county)
    sale = SaleFactory(property=prop)
    with pytest.raises(ValueError, match="Not editable: county, property"):
        sale_update(sale=sale, data={"property": PropertyFactory(county=county), "county": county}, actor=actor)
    stray = Sale(county=other_county, property=prop, sale_date=datetime.date(2024, 1, 1), sale_price=1)
    with pytest.raises(ValidationError, match="This property belongs to another county"):
        sale_create(sale=stray, actor=actor)
    assert not PropertyChange.objects.exists()


# --- deleting parcels ----------------------------------------------------------------------------


def test_deleting_parcels_records_everything_and_certified_values_refuse_it(county, appraiser):
    actor = Actor.for_user(appraiser, "x")
    plain = PropertyFactory(county=county, property_id=11)
    PropertyValueFactory(property=plain, roll_year=2025)
    SaleFactory(property=plain, sale_id=5, sale_price=1)
    certified = PropertyFactory(county=county, property_id=12, parcel_number="C-12")
    PropertyValueFactory(property=certified, roll_year=2023, is_certified=True)
    PropertyValueFactory(property=certified, roll_year=2024, is_certified=True)

    with pytest.raises(ValidationError) as caught:
        property_delete_many(properties=Property.objects.filter(county=county), actor=actor)
    assert caught.value.messages == [
        "Parcel C-12 has certified values (2023, 2024): certified values are the legal roll, so it cannot be "
        "deleted. Deactivate it instead (clear Active)."
    ]
    assert Property.objects.count() == 2 and not PropertyChange.objects.exists()

    change = property_delete(prop=plain, actor=actor)
    assert change.property_key == 11 and change.county == county
    assert change.changes["values[2025/pacs].land_value"] == {"old": 80000, "new": None}
    assert change.changes["sales[5].sale_price"] == {"old": 1, "new": None}
    assert change.changes["geometry"]["old"].startswith("sha256:")
    assert not Sale.objects.exists() and PropertyValue.objects.filter(property=certified).count() == 2
    change.refresh_from_db()
    assert change.property is None

    # Retiring a parcel with certified values: deactivation, on the record.
    retired = property_update(prop=certified, data={"is_active": False}, actor=actor)
    assert retired.changes == {"is_active": {"old": True, "new": False}}


def test_the_demo_county_obeys_the_rules_the_services_enforce():
    """The generator writes in bulk, outside the services: its values add up and its last sales are the
    services' own (so the first audited sale edit of a demo parcel changes only what it should)."""
    from django.core.management import call_command

    from properties.services import _last_sales_refresh, property_values_check

    call_command("generate_demo_county", slug="rules-demo", parcels=300, seed=3, stdout=io.StringIO())
    props = list(Property.objects.filter(county__slug="rules-demo"))
    values = PropertyValue.objects.filter(county__slug="rules-demo")
    assert len(props) == 300 and values.exists() and Sale.objects.filter(county__slug="rules-demo").exists()
    for row in [*props, *values]:
        property_values_check(land=row.land_value, improvement=row.improvement_value, market=row.market_value)
    with transaction.atomic():
        assert not any(_last_sales_refresh(props).values())


def test_editing_values_never_rewrites_a_certified_history_row(county, appraiser):
    prop = PropertyFactory(county=county, value_year=2024)
    certified = PropertyValueFactory(
        property=prop, source="manual", roll_year=2024, is_certified=True, **{f: getattr(prop, f) for f in VALUE_FIELDS}
    )
    before = PropertyValue.objects.filter(pk=certified.pk).values(*VALUE_FIELDS).get()
    with pytest.raises(ValidationError) as refused:
        property_update(
            prop=prop,
            data={"land_value": 1, "improvement_value": 1, "market_value": 2, "assessed_value": 2},
            actor=Actor.for_user(appraiser, "api"),
        )
    assert "certified" in refused.value.message_dict["value_year"][0]
    assert PropertyValue.objects.filter(pk=certified.pk).values(*VALUE_FIELDS).get() == before
    prop.refresh_from_db()
    assert prop.market_value == before["market_value"]  # the parcel's own values rolled back with it
    assert not PropertyChange.objects.filter(property=prop).exists()


def test_a_legacy_sale_id_taken_meanwhile_is_a_validation_error_not_a_crash(county, appraiser, monkeypatch):
    prop = PropertyFactory(county=county)
    sale_create(
        sale=Sale(property=prop, sale_id=77, sale_date=datetime.date(2025, 3, 1), sale_price=300000),
        actor=Actor.for_user(appraiser, "api"),
    )
    clash = Sale(property=prop, sale_id=77, sale_date=datetime.date(2025, 4, 1), sale_price=310000)
    clash.county_id = county.pk
    # As if full_clean had run before the first sale committed: the unique index is the last word.
    monkeypatch.setattr(Sale, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(Sale, "validate_constraints", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as refused:
        sale_create(sale=clash, actor=Actor.for_user(appraiser, "api"))
    assert "legacy sale id 77" in refused.value.message_dict["sale_id"][0]
    assert Sale.objects.filter(sale_id=77).count() == 1


def test_a_multi_parcel_sale_is_a_sale_on_each_parcel(county, appraiser):
    first, second = PropertyFactory(county=county), PropertyFactory(county=county)
    for prop in (first, second):
        sale_create(
            sale=Sale(property=prop, sale_id=78, sale_date=datetime.date(2025, 3, 1), sale_price=500000,
                      is_multi_parcel=True),
            actor=Actor.for_user(appraiser, "api"),
        )  # fmt: skip
    assert Sale.objects.filter(sale_id=78).count() == 2


def test_columns_copy_writes_arrays_constants_and_nulls_as_given(county):
    """The numpy-laid binary COPY: numbers, a masked NULL, a NaN NULL, a UUID, a boolean and a timestamp per row."""
    import uuid

    import numpy as np
    from django.utils import timezone

    from properties.services import columns_copy

    parcels = [PropertyFactory(county=county) for _ in range(3)]
    job, now = uuid.uuid4(), timezone.now()
    land = np.ma.masked_array(np.array([100, 0, 300], dtype=np.int64), mask=[False, True, False])
    columns_copy(
        PropertyValue,
        {
            "county": county.pk, "property": np.array([p.pk for p in parcels]), "roll_year": 2027,
            "source": "valuation", "land_value": land, "improvement_value": np.array([1.0, 2.0, np.nan]),
            "market_value": np.array([10, 20, 30], dtype=np.int64), "job_id": job,
            "is_certified": np.array([True, False, True]), "created_at": now, "updated_at": now,
        },
        rows=3,
    )  # fmt: skip
    rows = list(
        PropertyValue.objects.filter(roll_year=2027).order_by("property_id")
        .values_list("land_value", "improvement_value", "market_value", "job_id", "is_certified", "created_at")
    )  # fmt: skip
    assert rows == [(100, 1, 10, job, True, now), (None, 2, 20, job, False, now), (300, None, 30, job, True, now)]
