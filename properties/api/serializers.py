"""API representations of parcels, values and sales."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from properties.fields import (
    CENTROID_FIELDS,
    LAST_SALE_FIELDS,
    LIST_DEFERRED_FIELDS,
    PROPERTY_EDITABLE_FIELDS,
    PROPERTY_KEY_FIELDS,
    SALE_EDITABLE_FIELDS,
    VALUE_FIELDS,
)
from properties.geometry import geojson_to_wkb, wkb_to_geojson
from properties.models import Neighborhood, Property, PropertyValue, Sale
from terrafusion.api.fields import DetailUrlField

PROPERTY_DETAIL_FIELDS = [
    "id", "url", *PROPERTY_KEY_FIELDS, *PROPERTY_EDITABLE_FIELDS, *CENTROID_FIELDS, *LAST_SALE_FIELDS,
    "source_system", "created_at", "updated_at", "values_url",
]  # fmt: skip
# A list row is what a results table needs: no long texts or polygon (not even read), no secondary details.
PROPERTY_DETAIL_ONLY_FIELDS = (
    *LIST_DEFERRED_FIELDS, "land_area_sqft", "acreage", "effective_year", *LAST_SALE_FIELDS, "source_system",
    "created_at", "values_url",
)  # fmt: skip
PROPERTY_LIST_FIELDS = [field for field in PROPERTY_DETAIL_FIELDS if field not in PROPERTY_DETAIL_ONLY_FIELDS]

GEOJSON_GEOMETRY_SCHEMA = {"type": "object", "description": "GeoJSON geometry (WGS84 lon/lat)", "nullable": True}


class GeometryField(serializers.Field):
    """WKB in the database, GeoJSON in the API."""

    represents_column_value = True  # the fast read path (terrafusion/api/rows.py) may call it on a values() column

    def to_representation(self, value):
        return wkb_to_geojson(value)

    def to_internal_value(self, data):
        if not isinstance(data, dict) or "type" not in data:
            raise serializers.ValidationError("Give a GeoJSON geometry object.")
        try:
            return geojson_to_wkb(data)
        except Exception as exc:
            raise serializers.ValidationError(f"Not a valid GeoJSON geometry ({exc}).") from None


extend_schema_field(GEOJSON_GEOMETRY_SCHEMA)(GeometryField)


class PropertySerializer(serializers.ModelSerializer):
    url = DetailUrlField("api:property-detail")
    county = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    neighborhood = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Property
        fields = PROPERTY_LIST_FIELDS


class PropertyDetailSerializer(PropertySerializer):
    geometry = GeometryField(read_only=True)
    values_url = DetailUrlField("api:property-values")

    class Meta(PropertySerializer.Meta):
        fields = PROPERTY_DETAIL_FIELDS


class PropertyUpdateSerializer(serializers.ModelSerializer):
    """The characteristics and current values an appraiser may PATCH; every change is audited."""

    neighborhood = serializers.CharField(required=False, allow_null=True, help_text="Neighborhood code in the county.")
    geometry = GeometryField(required=False, allow_null=True)

    class Meta:
        model = Property
        fields = list(PROPERTY_EDITABLE_FIELDS)
        extra_kwargs = {field: {"min_value": 0} for field in VALUE_FIELDS}

    def validate_neighborhood(self, code):
        if code is None:
            return None
        try:
            return Neighborhood.objects.get(county_id=self.instance.county_id, code=code)
        except Neighborhood.DoesNotExist:
            raise serializers.ValidationError(f"No neighborhood {code!r} in this county.") from None

    def validate_year_built(self, year):
        if year is not None and not 1700 <= year <= 2200:
            raise serializers.ValidationError("Year built must be between 1700 and 2200.")
        return year

    # "Land + improvements = market" is checked by properties.services.property_update under the row lock,
    # against the values as they will be stored; its ValidationError is a 400 naming market_value.


class PropertyValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = PropertyValue
        fields = ["roll_year", "source", *VALUE_FIELDS, "is_certified", "job_id", "created_at", "updated_at"]


class SaleSerializer(serializers.ModelSerializer):
    county = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parcel_number = serializers.CharField(source="property.parcel_number", read_only=True)

    class Meta:
        model = Sale
        fields = ["id", "county", "property", "parcel_number", *SALE_EDITABLE_FIELDS]


class PropertyFeatureSerializer(PropertySerializer):
    """A parcel as a GeoJSON Feature: the polygon, with the list fields as its properties."""

    def to_representation(self, instance):
        properties = super().to_representation(instance)
        return {
            "type": "Feature",
            "id": instance.pk,
            "geometry": wkb_to_geojson(instance.geometry),
            "properties": properties,
        }
