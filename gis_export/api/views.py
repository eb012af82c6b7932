from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from counties.models import County
from gis_export.parcel_map import COLOR_BY, parcel_map_layer
from terrafusion.api.permissions import CountyPermission
from terrafusion.api.renderers import GeoJSONRenderer, ORJSONRenderer


class MapQuerySerializer(serializers.Serializer):
    bbox = serializers.ListField(
        child=serializers.FloatField(), min_length=4, max_length=4,
        help_text="min_lon,min_lat,max_lon,max_lat: the map's view.",
    )  # fmt: skip
    color_by = serializers.ChoiceField(choices=list(COLOR_BY.items()), default="market_value")

    def to_internal_value(self, data):
        bbox = data.get("bbox", "")
        return super().to_internal_value({**data.dict(), "bbox": bbox.split(",") if bbox else []})

    def validate_bbox(self, value):
        if value[0] >= value[2] or value[1] >= value[3]:
            raise serializers.ValidationError("The minimums must be below the maximums.")
        return value


class ParcelMapView(APIView):
    """The parcel map's layer: the county's active parcels in the view (simplified polygons with the figures the map
    colors them by), or, when the view holds more than a few thousand, a grid of cells with their parcels' count and
    mean figure. Only in a county you may view."""

    renderer_classes = [GeoJSONRenderer, ORJSONRenderer]
    permission_classes = [IsAuthenticated, CountyPermission]

    @extend_schema(
        parameters=[MapQuerySerializer],
        responses={(200, "application/geo+json"): OpenApiTypes.OBJECT, (200, "application/json"): OpenApiTypes.OBJECT,
                   400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def get(self, request, county: str):
        county = get_object_or_404(County.objects.restrict(request.user, "view").filter(is_active=True), slug=county)
        query = MapQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        layer = parcel_map_layer(
            county=county, bbox=query.validated_data["bbox"], color_by=query.validated_data["color_by"]
        )
        return Response({
            "type": "FeatureCollection",
            "aggregated": layer.aggregated,
            "parcels": layer.parcels,
            "color_by": query.validated_data["color_by"],
            "basemap_url": settings.MAP_BASEMAP_URL or None,
            "features": layer.features,
        })  # fmt: skip
