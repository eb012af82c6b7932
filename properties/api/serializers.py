"""API representations of parcels, values and sales."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from properties.geometry import geojson_to_wkb, wkb_to_geojson
from properties.models import Neighborhood, Property, PropertyValue, Sale
from terrafusion.api.fields import DetailUrlField

PROPERTY_LIST_FIELDS = [
    "id", "url", "county", "property_id", "parcel_number", "property_type", "class_code", "neighborhood",
    "situs_address", "situs_city", "situs_zip", "owner_name", "living_area", "year_built", "bedrooms", "bathrooms",
    "quality", "condition", "land_value", "improvement_value", "market_value", "assessed_value", "value_year",
    "latitude", "longitude", "is_active", "updated_at",
]  # fmt: skip

PROPERTY_DETAIL_FIELDS = [
    *PROPERTY_LIST_FIELDS, "owner_address", "legal_description", "land_area_sqft", "acreage", "effective_year",
    "last_sale_date", "last_sale_price", "source_system", "created_at", "geometry", "values_url",
]  # fmt: skip

GEOJSON_GEOMETRY_SCHEMA = {"type": "object", "description": "GeoJSON geometry (WGS84 lon/lat)", "nullable": True}


class GeometryField(serializers.Field):
    """WKB in the database, GeoJSON in the API."""

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
    neighborhood = serializers.SlugRelatedField(slug_field="code", read_only=True)

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
        fields = [
            "parcel_number", "property_type", "class_code", "neighborhood", "situs_address", "situs_city",
            "situs_zip", "owner_name", "owner_address", "legal_description", "land_area_sqft", "acreage",
            "living_area", "year_built", "effective_year", "bedrooms", "bathrooms", "quality", "condition",
            "geometry", "land_value", "improvement_value", "market_value", "assessed_value", "value_year",
            "is_active",
        ]  # fmt: skip
        extra_kwargs = {
            f: {"min_value": 0} for f in ("land_value", "improvement_value", "market_value", "assessed_value")
        }

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

    def validate(self, attrs):
        land = attrs.get("land_value", self.instance.land_value)
        improvements = attrs.get("improvement_value", self.instance.improvement_value)
        market = attrs.get("market_value", self.instance.market_value)
        touched = {"land_value", "improvement_value", "market_value"} & attrs.keys()
        if touched and None not in (land, improvements, market) and land + improvements != market:
            raise serializers.ValidationError(
                {"market_value": [f"Market value must equal land + improvements ({land} + {improvements})."]}
            )
        return attrs


class PropertyValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = PropertyValue
        fields = [
            "roll_year", "source", "land_value", "improvement_value", "market_value", "assessed_value",
            "is_certified", "job_id", "created_at", "updated_at",
        ]  # fmt: skip


class SaleSerializer(serializers.ModelSerializer):
    county = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    parcel_number = serializers.CharField(source="property.parcel_number", read_only=True)

    class Meta:
        model = Sale
        fields = [
            "id", "county", "property", "parcel_number", "sale_id", "sale_date", "sale_price", "adjusted_price",
            "deed_type", "validity_code", "is_valid", "excise_number", "is_multi_parcel",
        ]  # fmt: skip


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
