"""Parcels and sales API: county RBAC contracts, filters, GeoJSON, PATCH with audit."""

import pytest
from django.urls import reverse

from properties.models import Property, PropertyChange, PropertyValue
from terrafusion.testing.api import EndpointContract, bearer_client
from terrafusion.testing.factories import (
    NeighborhoodFactory,
    PropertyFactory,
    PropertyValueFactory,
    SaleFactory,
    square_wkb,
    user_with_role,
)


class TestPropertyList(EndpointContract):
    route = "api:property-list"
    is_list = True

    def make_target(self, county):
        return PropertyFactory(county=county)


class TestPropertyListGeoJSON(TestPropertyList):
    query = "format=geojson"

    def list_ids(self, response):
        return {feature["id"] for feature in response.json()["features"]}


class TestPropertyDetail(EndpointContract):
    route = "api:property-detail"

    def make_target(self, county):
        return PropertyFactory(county=county)

    def check_allowed_response(self, response, target):
        body = response.json()
        assert body["parcel_number"] == target.parcel_number
        assert body["geometry"]["type"] == "Polygon"


class TestPropertyPatch(EndpointContract):
    route = "api:property-detail"
    method = "patch"
    role = "appraiser"
    read_only_role = "viewer"

    def make_target(self, county):
        return PropertyFactory(county=county, living_area=1800, market_value=300000)

    def payload(self, target):
        return {"living_area": 2100}

    def snapshot(self, target):
        return (
            Property.objects.filter(pk=target.pk).values_list("living_area", flat=True).get(),
            PropertyChange.objects.filter(property=target).count(),
        )

    def check_allowed_response(self, response, target):
        assert response.json()["living_area"] == 2100
        change = PropertyChange.objects.get(property=target)
        assert change.changes == {"living_area": {"old": 1800, "new": 2100}}
        assert change.actor_kind == "user" and change.user.username.startswith("user")


class TestPropertyValues(EndpointContract):
    route = "api:property-values"

    def make_target(self, county):
        value = PropertyValueFactory(property=PropertyFactory(county=county), roll_year=2024, market_value=250000)
        return value.property

    def check_allowed_response(self, response, target):
        assert [(row["roll_year"], row["market_value"]) for row in response.json()] == [(2024, 250000)]


class TestSaleList(EndpointContract):
    route = "api:sale-list"
    is_list = True

    def make_target(self, county):
        return SaleFactory(property=PropertyFactory(county=county))


class TestSaleDetail(EndpointContract):
    route = "api:sale-detail"

    def make_target(self, county):
        return SaleFactory(property=PropertyFactory(county=county))


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.django_db
class TestPropertyFilters:
    @pytest.fixture
    def parcels(self, county):
        north = NeighborhoodFactory(county=county, code="N1")
        return {
            "old_small": PropertyFactory(county=county, year_built=1950, market_value=150000, class_code="11"),
            "new_big": PropertyFactory(
                county=county, year_built=2015, market_value=650000, class_code="12", neighborhood=north
            ),
            "inactive": PropertyFactory(county=county, is_active=False, owner_name="Columbia Holdings LLC"),
        }

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("year_built_min=2000", {"new_big"}),
            ("year_built_max=1960", {"old_small"}),
            ("min_value=600000", {"new_big"}),
            ("max_value=200000&active=true", {"old_small"}),
            ("class_code=12", {"new_big"}),
            ("neighborhood=N1", {"new_big"}),
            ("active=false", {"inactive"}),
            ("search=columbia holdings", {"inactive"}),
        ],
    )
    def test_filters(self, parcels, viewer, query, expected):
        response = bearer_client(viewer).get(reverse("api:property-list") + "?" + query)
        assert _ids(response) == {parcels[name].pk for name in expected}

    def test_parcel_number_and_search_by_address(self, parcels, viewer):
        target = parcels["old_small"]
        client = bearer_client(viewer)
        assert _ids(client.get(reverse("api:property-list"), {"parcel_number": target.parcel_number})) == {target.pk}
        assert target.pk in _ids(client.get(reverse("api:property-list"), {"search": target.situs_address}))

    def test_bbox(self, county, viewer):
        inside = PropertyFactory(county=county, geometry=square_wkb(-119.2, 46.2, size=0.001))
        outside = PropertyFactory(county=county, geometry=square_wkb(-119.3, 46.3, size=0.001))
        no_shape = PropertyFactory(county=county, geometry=None)
        response = bearer_client(viewer).get(
            reverse("api:property-list"), {"bbox": "-119.2005,46.1995,-119.1995,46.2005"}
        )
        ids = _ids(response)
        assert ids == {inside.pk}
        assert outside.pk not in ids and no_shape.pk not in ids

    def test_bad_bbox_is_a_field_error(self, viewer):
        response = bearer_client(viewer).get(reverse("api:property-list"), {"bbox": "1,2,3"})
        assert response.status_code == 400
        assert "bbox" in response.json()["error"]["fields"]

    def test_cursor_pagination_walks_every_row_once(self, county, viewer):
        made = {PropertyFactory(county=county).pk for _ in range(7)}
        client = bearer_client(viewer)
        seen, url = [], reverse("api:property-list") + "?page_size=3"
        while url:
            body = client.get(url).json()
            seen += [row["id"] for row in body["results"]]
            url = body["next"]
        assert sorted(seen) == sorted(made)

    def test_geojson_feature_collection(self, county, viewer):
        prop = PropertyFactory(county=county)
        response = bearer_client(viewer).get(reverse("api:property-list") + "?format=geojson")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/geo+json")
        body = response.json()
        assert body["type"] == "FeatureCollection"
        (feature,) = body["features"]
        assert feature["id"] == prop.pk and feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) == 5
        assert feature["properties"]["parcel_number"] == prop.parcel_number


@pytest.mark.django_db
class TestSaleFilters:
    def test_date_validity_and_price(self, county, viewer):
        prop = PropertyFactory(county=county)
        good = SaleFactory(property=prop, sale_date="2024-03-01", sale_price=300000, is_valid=True)
        family = SaleFactory(property=prop, sale_date="2024-05-01", sale_price=10, is_valid=False, validity_code="13")
        old = SaleFactory(property=prop, sale_date="2019-05-01", sale_price=200000)
        client = bearer_client(viewer)
        url = reverse("api:sale-list")
        assert _ids(client.get(url, {"valid": "true", "date_from": "2024-01-01"})) == {good.pk}
        assert _ids(client.get(url, {"date_to": "2020-01-01"})) == {old.pk}
        assert _ids(client.get(url, {"price_max": 100})) == {family.pk}
        assert _ids(client.get(url, {"price_min": 250000, "county": "benton-wa"})) == {good.pk}


@pytest.mark.django_db
class TestPropertyPatchRules:
    def test_values_patch_is_audited_and_recorded_in_value_history(self, county, appraiser):
        prop = PropertyFactory(county=county, land_value=80000, improvement_value=220000, market_value=300000)
        response = bearer_client(appraiser).patch(
            reverse("api:property-detail", args=[prop.pk]),
            {"improvement_value": 240000, "market_value": 320000},
            format="json",
        )
        assert response.status_code == 200, response.content
        change = PropertyChange.objects.get(property=prop)
        assert change.changes["market_value"] == {"old": 300000, "new": 320000}
        assert change.user == appraiser
        manual = PropertyValue.objects.get(property=prop, source="manual")
        assert (manual.roll_year, manual.market_value, manual.improvement_value) == (2025, 320000, 240000)

    def test_negative_value_is_rejected_naming_the_field(self, county, appraiser):
        prop = PropertyFactory(county=county)
        response = bearer_client(appraiser).patch(
            reverse("api:property-detail", args=[prop.pk]), {"land_value": -5}, format="json"
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "min_value" and "land_value" in error["fields"]
        assert not PropertyChange.objects.exists()

    def test_market_must_equal_land_plus_improvements(self, county, appraiser):
        prop = PropertyFactory(county=county)
        response = bearer_client(appraiser).patch(
            reverse("api:property-detail", args=[prop.pk]), {"market_value": 1}, format="json"
        )
        assert response.status_code == 400
        assert "market_value" in response.json()["error"]["fields"]
        prop.refresh_from_db()
        assert prop.market_value == 300000

    def test_unchanged_patch_writes_no_audit(self, county, appraiser):
        prop = PropertyFactory(county=county, living_area=1800)
        response = bearer_client(appraiser).patch(
            reverse("api:property-detail", args=[prop.pk]), {"living_area": 1800}, format="json"
        )
        assert response.status_code == 200
        assert not PropertyChange.objects.exists()

    def test_appraiser_of_other_county_cannot_patch(self, county, other_county):
        prop = PropertyFactory(county=county)
        outsider = user_with_role(other_county, "appraiser")
        response = bearer_client(outsider).patch(
            reverse("api:property-detail", args=[prop.pk]), {"living_area": 1}, format="json"
        )
        assert response.status_code == 404
        prop.refresh_from_db()
        assert prop.living_area == 1800
