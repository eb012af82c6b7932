"""The fast read path answers exactly what the serializers would: same rows, same bytes.

Each test asks the API (values() rows -> RowMapper -> orjson) and renders the same database rows the old way
(model instances -> the DRF serializer -> DRF's JSONRenderer), then compares the bytes.
"""

import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from properties.api.serializers import PropertyDetailSerializer, PropertyFeatureSerializer, PropertySerializer
from properties.models import Property
from terrafusion.api.rows import RowMapper
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import NeighborhoodFactory, PropertyFactory

pytestmark = pytest.mark.django_db

GEOJSON = "application/geo+json"


@pytest.fixture
def parcels(county):
    north = NeighborhoodFactory(county=county, code="N-ÅÖ")
    made = [
        PropertyFactory(county=county, neighborhood=north),
        # Nulls everywhere a parcel may have them; no neighborhood, no polygon.
        PropertyFactory(
            county=county,
            geometry=None,
            land_area_sqft=None,
            acreage=None,
            bathrooms=None,
            living_area=None,
            year_built=None,
            market_value=None,
            land_value=None,
            improvement_value=None,
            assessed_value=None,
            value_year=None,
            quality="",
            situs_address="",
        ),
        # Decimals at their column's scale and beyond what a float keeps; non-ASCII and JavaScript line breaks.
        PropertyFactory(
            county=county,
            neighborhood=north,
            land_area_sqft=Decimal("123456789012.34"),
            acreage=Decimal("0.0001"),
            bathrooms=Decimal("10.50"),
            owner_name='Müller & Søn — 山田 \u2028 \u2029 "quoted" \\ tab\t',
            situs_address="12 Calle Ñandú",
            legal_description="LOT 1 ½ \u00e9\n second line",
            last_sale_date=datetime.date(2024, 2, 29),
            last_sale_price=412345,
        ),
    ]
    # A timestamp with microseconds, near midnight UTC: DRF writes it in the current time zone, to the microsecond.
    Property.objects.filter(pk=made[2].pk).update(
        updated_at=datetime.datetime(2025, 1, 1, 7, 59, 59, 123456, tzinfo=datetime.UTC)
    )
    return made


def drf_render(data) -> bytes:
    return JSONRenderer().render(data)


def serialized(serializer_class, queryset, response, *, many=True):
    request = response.wsgi_request
    return serializer_class(queryset if many else queryset.get(), many=many, context={"request": request}).data


def instances():
    return Property.objects.select_related("county", "neighborhood").order_by("id")


def test_list_page_is_the_serializers(parcels, viewer):
    response = bearer_client(viewer).get(reverse("api:property-list"), {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["next"]
    expected = {"next": body["next"], "previous": None, "results": None}
    expected["results"] = serialized(PropertySerializer, instances()[:2], response)
    assert response.content == drf_render(expected)

    second = bearer_client(viewer).get(body["next"])
    expected = {"next": None, "previous": second.json()["previous"], "results": None}
    expected["results"] = serialized(PropertySerializer, instances()[2:], second)
    assert second.content == drf_render(expected)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_detail_is_the_serializers(parcels, viewer, index):
    prop = parcels[index]
    response = bearer_client(viewer).get(reverse("api:property-detail", args=[prop.pk]))
    assert response.status_code == 200
    expected = serialized(PropertyDetailSerializer, instances().filter(pk=prop.pk), response, many=False)
    assert response.content == drf_render(expected)


def test_geojson_list_is_the_serializers(parcels, viewer):
    response = bearer_client(viewer).get(reverse("api:property-list"), {"format": "geojson"})
    assert response.status_code == 200 and response["Content-Type"].startswith(GEOJSON)
    features = serialized(PropertyFeatureSerializer, instances(), response)
    expected = {"type": "FeatureCollection", "features": features, "next": None, "previous": None}
    assert response.content == drf_render(expected)
    assert [feature["geometry"] is None for feature in response.json()["features"]] == [False, True, False]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_geojson_detail_is_the_serializers(parcels, viewer, index):
    prop = parcels[index]
    response = bearer_client(viewer).get(reverse("api:property-detail", args=[prop.pk]), {"format": "geojson"})
    assert response.status_code == 200 and response["Content-Type"].startswith(GEOJSON)
    expected = serialized(PropertyFeatureSerializer, instances().filter(pk=prop.pk), response, many=False)
    assert response.content == drf_render(expected)


@pytest.mark.parametrize(
    "zone, written",
    [
        ("Asia/Kolkata", "2025-01-01T13:29:59.123456+05:30"),  # an offset that shows in every digit
        ("UTC", "2025-01-01T07:59:59.123456Z"),  # DRF writes +00:00 as Z
    ],
)
def test_datetimes_follow_the_current_time_zone(parcels, viewer, settings, zone, written):
    settings.TIME_ZONE = zone
    prop = parcels[2]
    client = bearer_client(viewer)
    with timezone.override(zone):
        response = client.get(reverse("api:property-detail", args=[prop.pk]))
        expected = serialized(PropertyDetailSerializer, instances().filter(pk=prop.pk), response, many=False)
        page = client.get(reverse("api:property-list"))
        expected_page = serialized(PropertySerializer, instances(), page)
    assert response.json()["updated_at"] == written
    assert response.content == drf_render(expected)
    assert page.json()["results"][2]["updated_at"] == written
    assert page.json()["results"] == json.loads(drf_render(expected_page))


def test_the_mapper_refuses_what_it_cannot_mirror():
    class WithMethod(PropertySerializer):
        shouted = serializers.SerializerMethodField()

        class Meta(PropertySerializer.Meta):
            fields = [*PropertySerializer.Meta.fields, "shouted"]

        def get_shouted(self, obj):
            return obj.owner_name.upper()

    with pytest.raises(TypeError, match="shouted"):
        RowMapper(WithMethod)


def test_filters_run_on_lists_only(parcels, viewer):
    """A detail is found by its id: list filters (here an invalid one, and a county) neither 400 nor hide it."""
    prop = parcels[0]
    client = bearer_client(viewer)
    url = reverse("api:property-detail", args=[prop.pk])
    assert client.get(url, {"year_built_min": "not-a-number", "county": "elsewhere"}).status_code == 200
    listed = client.get(reverse("api:property-list"), {"year_built_min": "not-a-number"})
    assert listed.status_code == 400 and "year_built_min" in listed.json()["error"]["fields"]


@pytest.mark.parametrize("key", ["abc", "1.5", "99999999999999999999", "-1", "0"])
def test_detail_keys_the_orm_finds_nothing_for_are_404(parcels, viewer, key):
    """The compiled detail query checks a key as the ORM does: not an integer, or beyond the column, is 404."""
    response = bearer_client(viewer).get(f"/api/v1/properties/{key}/")
    assert response.status_code == 404


def test_prepared_reads_follow_the_users_counties(parcels, viewer, other_county):
    """Rows and detail queries are prepared once per set of county ids: a role in another county opens its
    parcels at the next request, in the list and in detail, and losing it closes them again."""
    from counties.services import user_set_county_roles

    elsewhere = PropertyFactory(county=other_county)
    client = bearer_client(viewer)
    url = reverse("api:property-detail", args=[elsewhere.pk])

    def listed() -> set[int]:
        return {row["id"] for row in client.get(reverse("api:property-list")).json()["results"]}

    mine = {prop.pk for prop in parcels}
    assert client.get(url).status_code == 404 and listed() == mine
    assert client.get(reverse("api:property-detail", args=[parcels[0].pk])).status_code == 200
    user_set_county_roles(user=viewer, county=other_county, roles=["viewer"])
    response = client.get(url)
    assert response.status_code == 200 and response.json()["parcel_number"] == elsewhere.parcel_number
    assert listed() == mine | {elsewhere.pk}
    user_set_county_roles(user=viewer, county=other_county, roles=[])
    assert client.get(url).status_code == 404 and listed() == mine


def test_a_viewset_with_its_own_queryset_is_never_prepared():
    """A viewset whose rows depend on more of the request than restrict() builds its queryset per request."""
    from properties.api.views import PropertyViewSet

    class ActiveOnly(PropertyViewSet):
        def get_queryset(self):
            return super().get_queryset().filter(is_active=True)

    assert ActiveOnly().prepared() is None


def test_sales_are_the_serializers(parcels, viewer):
    from properties.api.serializers import SaleSerializer
    from properties.models import Sale
    from terrafusion.testing.factories import SaleFactory

    SaleFactory(property=parcels[0], county=parcels[0].county, deed_type="WD", excise_number="E-1")
    SaleFactory(property=parcels[2], county=parcels[2].county, adjusted_price=None, is_valid=False)
    client = bearer_client(viewer)
    sales = Sale.objects.select_related("county", "property").order_by("id")
    page = client.get(reverse("api:sale-list"))
    assert page.status_code == 200
    assert drf_render(page.json()["results"]) == drf_render(serialized(SaleSerializer, sales, page))
    sale = sales.last()
    detail = client.get(reverse("api:sale-detail", args=[sale.pk]))
    assert detail.content == drf_render(serialized(SaleSerializer, sales.filter(pk=sale.pk), detail, many=False))
