"""The audit trail and the model's rules: every change records who, when, old and new."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from properties.choices import ActorKind
from properties.models import PropertyChange, PropertyValue
from properties.services import Actor, property_update
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
    from properties.models import Property

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
