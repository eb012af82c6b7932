from pyproj import CRS
from pyproj.exceptions import CRSError
from rest_framework import serializers

from gis_export.choices import Attribute, ExportFormat
from properties.choices import ValueSource

WGS84 = "EPSG:4326"


class ExportFiltersSerializer(serializers.Serializer):
    """Which parcels: all of these that are given must hold."""

    neighborhoods = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, min_length=1, max_length=500,
        help_text="Neighborhood codes.",
    )  # fmt: skip
    property_classes = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, min_length=1, max_length=100,
        help_text="Use / class codes.",
    )  # fmt: skip
    active = serializers.BooleanField(
        required=False, allow_null=True, default=True, help_text="true (default): active parcels; false: inactive; "
        "null: both.",
    )  # fmt: skip
    min_value = serializers.IntegerField(required=False, min_value=0, help_text="Current market value at least.")
    max_value = serializers.IntegerField(required=False, min_value=0, help_text="Current market value at most.")
    bbox = serializers.ListField(
        child=serializers.FloatField(), required=False, min_length=4, max_length=4,
        help_text="[min_lon, min_lat, max_lon, max_lat] (WGS84): parcels whose extent overlaps the box.",
    )  # fmt: skip

    def validate_bbox(self, value):
        xmin, ymin, xmax, ymax = value
        if xmin > xmax or ymin > ymax:
            raise serializers.ValidationError("The minimums must not exceed the maximums.")
        if not (-180 <= xmin <= 180 and -180 <= xmax <= 180 and -90 <= ymin <= 90 and -90 <= ymax <= 90):
            raise serializers.ValidationError("Longitudes are within -180..180 and latitudes within -90..90.")
        return value

    def validate(self, attrs):
        low, high = attrs.get("min_value"), attrs.get("max_value")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_value": f"must not be below min_value ({low})."})
        return attrs


class GisExportParametersSerializer(serializers.Serializer):
    """A layer of the county's parcels (its format, which parcels, which attributes, in which CRS), or the publication
    of a roll year (the whole roll as GeoParquet in WGS84 to the archive and the GIS database, with the analytics
    store's value history, sales and valuation results)."""

    operation = serializers.ChoiceField(
        choices=[("export", "Export a layer"), ("publish", "Publish the roll year")], default="export"
    )
    format = serializers.ChoiceField(
        choices=ExportFormat.choices, required=False, help_text="Default: gpkg (a publication: geoparquet)."
    )
    filters = ExportFiltersSerializer(required=False, help_text="Which parcels (default: the active ones).")
    attributes = serializers.ListField(
        child=serializers.ChoiceField(choices=Attribute.choices), required=False, allow_empty=False,
        help_text="Which groups of columns (default: all). Every feature also carries its TerraFusion id (tf_id).",
    )  # fmt: skip
    crs = serializers.CharField(
        default=WGS84, max_length=20,
        help_text="The output CRS: an EPSG code (EPSG:2927), or `local` for the county's own (its local_crs_epsg).",
    )  # fmt: skip
    roll_year = serializers.IntegerField(
        required=False, min_value=1900, max_value=2200,
        help_text="With the `values` attribute: that roll year's values from value_source. Default: each parcel's "
        "current values (value_year says their year); a publication: the county's working roll year.",
    )  # fmt: skip
    value_source = serializers.ChoiceField(
        choices=ValueSource.choices, default=ValueSource.PACS, help_text="Whose values of roll_year."
    )

    def validate_crs(self, value: str) -> str:
        if value.strip().lower() == "local":
            return "local"
        return crs_checked(value)

    def validate(self, attrs):
        if attrs["operation"] == "publish":
            refused = {name for name in ("filters", "attributes") if name in attrs}
            refused |= {"crs"} if attrs["crs"] != WGS84 else set()
            refused |= {"format"} if attrs.get("format", ExportFormat.GEOPARQUET) != ExportFormat.GEOPARQUET else set()
            if refused:
                reason = "A publication is the whole roll as GeoParquet, every attribute, in EPSG:4326."
                raise serializers.ValidationError(dict.fromkeys(sorted(refused), reason))
            attrs.update(format=ExportFormat.GEOPARQUET, filters={"active": True})
        attrs.setdefault("format", ExportFormat.GPKG)
        attrs["attributes"] = list(dict.fromkeys(attrs.get("attributes") or Attribute.values))
        attrs["filters"] = attrs.get("filters") or {"active": True}
        if attrs["format"] == ExportFormat.KML and attrs["crs"] != WGS84:
            raise serializers.ValidationError({"crs": "KML is always in EPSG:4326 (WGS84 longitude and latitude)."})
        return attrs


def crs_checked(value: str) -> str:
    """An EPSG code of a horizontal CRS, as `EPSG:<code>`; ValidationError naming why not."""
    text = value.strip().upper()
    if not text.startswith("EPSG:") or not text[5:].isdigit():
        raise serializers.ValidationError("Give an EPSG code such as EPSG:2927, or `local`.")
    try:
        crs = CRS.from_user_input(text)
    except CRSError:
        raise serializers.ValidationError(f"{text} is not a CRS of the EPSG database.") from None
    if not (crs.is_geographic or crs.is_projected):
        raise serializers.ValidationError(f"{text} ({crs.name}) is not a horizontal CRS.")
    return text
