"""Parcels, their value history, and sales."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from properties.api.serializers import (
    PropertyDetailSerializer,
    PropertyFeatureSerializer,
    PropertySerializer,
    PropertyUpdateSerializer,
    PropertyValueSerializer,
    SaleSerializer,
)
from properties.filtersets import PropertyFilterSet, SaleFilterSet
from properties.geometry import wkb_to_geojson_many
from properties.models import Property, PropertyValue, Sale
from properties.services import Actor, property_update
from terrafusion.api.renderers import GeoJSONRenderer, ORJSONRenderer
from terrafusion.api.rows import FastReadMixin
from terrafusion.api.viewsets import CountyScopedReadOnlyViewSet, CountyScopedRetrieveUpdateViewSet

FORMAT_PARAMETER = OpenApiParameter(
    "format", str, enum=["json", "geojson"], description="geojson: a FeatureCollection of the parcel polygons."
)


def _feature(properties_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"type": "object", "nullable": True, "description": "GeoJSON geometry (WGS84 lon/lat)"},
            "properties": {"$ref": f"#/components/schemas/{properties_ref}"},
        },
    }


# `?format=geojson` answers GeoJSON: a Feature for a parcel, a FeatureCollection (with the cursor links as
# foreign members) for a page. The schema says so per media type, so a client reads either correctly.
PROPERTY_FEATURE_COLLECTION = {
    "type": "object",
    "required": ["type", "features", "next", "previous"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": _feature("Property")},
        "next": {"type": "string", "format": "uri", "nullable": True},
        "previous": {"type": "string", "format": "uri", "nullable": True},
    },
}


@extend_schema_view(
    list=extend_schema(
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "application/json"): PropertySerializer(many=True),
            (200, "application/geo+json"): OpenApiResponse(PROPERTY_FEATURE_COLLECTION),
        },
    ),
    retrieve=extend_schema(
        responses={
            (200, "application/json"): PropertyDetailSerializer,
            (200, "application/geo+json"): OpenApiResponse(_feature("Property")),
        },
    ),
)
class PropertyViewSet(FastReadMixin, CountyScopedRetrieveUpdateViewSet):
    """Parcels. Reads (list, detail, GeoJSON) take the fast path: `values()` rows mapped to the serializers' JSON."""

    # Reads select their columns (FastReadMixin, values()); this queryset serves the PATCH's object, whose
    # county's settings JSON is not needed.
    queryset = Property.objects.select_related("county", "neighborhood").defer("county__settings")
    serializer_class = PropertySerializer
    filterset_class = PropertyFilterSet
    search_fields = ["parcel_number", "situs_address", "owner_name"]
    renderer_classes = [ORJSONRenderer, BrowsableAPIRenderer, GeoJSONRenderer]

    @property
    def wants_geojson(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return renderer is not None and renderer.format == "geojson"

    def get_serializer_class(self):
        if self.action == "partial_update":
            return PropertyUpdateSerializer
        if self.wants_geojson:
            return PropertyFeatureSerializer
        if self.action == "retrieve":
            return PropertyDetailSerializer
        return PropertySerializer

    # --- the fast read path (terrafusion/api/rows.py) ---------------------------------------------

    def get_fast_serializer_class(self):
        # A Feature's properties are a list row; its polygon is the Feature's geometry (below).
        return PropertySerializer if self.wants_geojson else self.get_serializer_class()

    def extra_columns(self):
        return ("geometry",) if self.wants_geojson else ()

    def represent_rows(self, rows):
        represented = super().represent_rows(rows)
        if not self.wants_geojson:
            return represented
        geometries = wkb_to_geojson_many([row["geometry"] for row in rows])
        return [
            {"type": "Feature", "id": row["pk"], "geometry": geometry, "properties": properties}
            for row, geometry, properties in zip(rows, geometries, represented, strict=True)
        ]

    def list_response(self, data, *, paginated=False):
        if self.wants_geojson:
            data = {"type": "FeatureCollection", "features": data}
        return super().list_response(data, paginated=paginated)

    @extend_schema(request=PropertyUpdateSerializer, responses=PropertyDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        prop = self.get_object()
        serializer = PropertyUpdateSerializer(prop, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        property_update(prop=prop, data=serializer.validated_data, actor=Actor.for_user(request.user, "api"))
        return Response(PropertyDetailSerializer(prop, context=self.get_serializer_context()).data)

    @extend_schema(responses=PropertyValueSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def values(self, request, pk=None):
        """The property's value history: one row per roll year and source, newest first."""
        prop = self.get_object()
        rows = PropertyValue.objects.filter(property=prop).order_by("-roll_year", "source")
        return Response(PropertyValueSerializer(rows, many=True).data)


class SaleViewSet(FastReadMixin, CountyScopedReadOnlyViewSet):
    """Sales. Reads take the fast path (`values()` rows mapped to the serializer's JSON)."""

    # Reads select their columns (FastReadMixin, values()); the queryset's only() serves the schema's view of it.
    queryset = Sale.objects.select_related("county", "property").only(
        *(f.name for f in Sale._meta.concrete_fields), "county__slug", "property__parcel_number"
    )
    serializer_class = SaleSerializer
    filterset_class = SaleFilterSet
