"""factory_boy factories for counties, users with roles, neighborhoods, properties, values and sales."""

import datetime
from decimal import Decimal

import factory
import shapely
from django.contrib.auth import get_user_model

from counties.models import County
from counties.services import county_sync_role_groups, user_set_county_roles
from properties.geometry import geometry_columns
from properties.models import Neighborhood, Property, PropertyValue, Sale

PASSWORD = "correct-horse-battery-staple"


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Test County {n}")
    slug = factory.Sequence(lambda n: f"test-{n}-wa")
    state = "WA"
    fips_code = factory.Sequence(lambda n: f"{53000 + (n % 999):05d}")
    timezone = "America/Los_Angeles"
    working_roll_year = 2025
    certified_roll_year = 2024

    @factory.post_generation
    def role_groups(county, create, extracted, **kwargs):
        if create:
            county_sync_role_groups(counties=[county])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(user, create, extracted, **kwargs):
        if create:
            user.save()


def user_with_role(county: County, role: str, **kwargs):
    """A user holding `role` in `county` (and nothing elsewhere)."""
    user = UserFactory(**kwargs)
    user_set_county_roles(user=user, county=county, roles=[role])
    return user


class NeighborhoodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Neighborhood

    county = factory.SubFactory(CountyFactory)
    code = factory.Sequence(lambda n: f"{100 + n}")
    name = factory.Sequence(lambda n: f"Neighborhood {n}")


def square_wkb(x: float = -119.2, y: float = 46.2, size: float = 0.0005) -> bytes:
    return shapely.to_wkb(shapely.box(x, y, x + size, y + size))


class PropertyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Property

    county = factory.SubFactory(CountyFactory)
    property_id = factory.Sequence(lambda n: 10000 + n)
    parcel_number = factory.Sequence(lambda n: f"1{n:05d}0000000")
    property_type = "R"
    class_code = "11"
    neighborhood = None
    situs_address = factory.Sequence(lambda n: f"{100 + n} W Main St")
    situs_city = "Kennewick"
    situs_zip = "99336"
    owner_name = factory.Sequence(lambda n: f"Owner {n}")
    owner_address = "PO Box 1, Kennewick WA 99336"
    legal_description = "LOT 1 BLOCK 1"
    land_area_sqft = Decimal("7500.00")
    acreage = Decimal("0.1722")
    living_area = 1800
    year_built = 1995
    effective_year = 2000
    bedrooms = 3
    bathrooms = Decimal("2.00")
    quality = "average"
    condition = "average"
    geometry = factory.Sequence(lambda n: square_wkb(-119.2 + (n % 100) * 0.001, 46.2 + (n // 100) * 0.001))
    # Values add up (land + improvements = market, the rule the services enforce) whatever market is given.
    market_value = 300000
    land_value = factory.LazyAttribute(lambda p: None if p.market_value is None else p.market_value * 4 // 15)
    improvement_value = factory.LazyAttribute(
        lambda p: None if p.market_value is None or p.land_value is None else p.market_value - p.land_value
    )
    assessed_value = factory.SelfAttribute("market_value")
    value_year = 2025
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.update({k: v for k, v in geometry_columns(kwargs.get("geometry")).items() if v is not None})
        return super()._create(model_class, *args, **kwargs)


class PropertyValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PropertyValue

    property = factory.SubFactory(PropertyFactory)
    county = factory.SelfAttribute("property.county")
    roll_year = 2025
    source = "pacs"
    market_value = 300000
    land_value = factory.LazyAttribute(lambda v: None if v.market_value is None else v.market_value * 4 // 15)
    improvement_value = factory.LazyAttribute(
        lambda v: None if v.market_value is None or v.land_value is None else v.market_value - v.land_value
    )
    assessed_value = factory.SelfAttribute("market_value")


class SaleFactory(factory.django.DjangoModelFactory):
    """A sale written directly (as a bulk load would): the property's last sale is not updated; use
    properties.services.sale_create where that matters."""

    class Meta:
        model = Sale

    property = factory.SubFactory(PropertyFactory)
    county = factory.SelfAttribute("property.county")
    sale_id = factory.Sequence(lambda n: 500000 + n)
    sale_date = factory.Sequence(lambda n: datetime.date(2024, 1, 1) + datetime.timedelta(days=n % 365))
    sale_price = 310000
    deed_type = "WD"
    validity_code = "00"
    is_valid = True
    excise_number = factory.Sequence(lambda n: f"E{n:07d}")
