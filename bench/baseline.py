"""Today's path, for comparison: the property reads served the straightforward DRF way, in the bench only.

The bench prints every figure of the product's API beside the same request answered here, in the same
run. These viewsets are deliberately plain and pinned, so that they stay "today's path" whatever the
product's read path becomes:

- a ModelSerializer over Property with the product's field lists, built from properties/fields.py (38
  fields on a detail), the neighborhood and county as slugs, the detail URLs from a template made once per
  request (as terrafusion.api.fields.DetailUrlField did when issue 6 was filed), the polygon as GeoJSON;
- simplejwt's JWTAuthentication (a user query per request), the county restriction through the
  terrafusion.api.viewsets base classes (restrict(), CountyPermission), the product's throttles;
- django-filter with PropertyFilterSet and DRF's SearchFilter on every action (detail too), DRF's own
  CursorPagination by id, DRF's JSONRenderer.

Nothing here is imported by the product; bench/urls.py mounts it under /bench/baseline/.
"""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.filters import SearchFilter
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework_simplejwt.authentication import JWTAuthentication

from properties.api.serializers import PROPERTY_DETAIL_FIELDS as DETAIL_FIELDS
from properties.api.serializers import PROPERTY_LIST_FIELDS as LIST_FIELDS
from properties.fields import LIST_DEFERRED_FIELDS
from properties.filtersets import PropertyFilterSet
from properties.geometry import wkb_to_geojson
from properties.models import Property
from terrafusion.api.viewsets import CountyScopedReadOnlyViewSet

# The product's field lists (names only: the same JSON, served the plain DRF way).
_PLACEHOLDER = 987654321987


class UrlField(serializers.Field):
    """The absolute URL of a parcel's product route (api:property-detail, ...), reversed once per request."""

    def __init__(self, view_name: str, **kwargs):
        self.view_name = view_name
        super().__init__(source="pk", read_only=True, **kwargs)

    def to_representation(self, pk) -> str:
        cache = self.context.setdefault("_bench_url_templates", {})
        template = cache.get(self.view_name)
        if template is None:
            url = reverse(self.view_name, args=[_PLACEHOLDER], request=self.context.get("request"))
            template = cache[self.view_name] = url.replace(str(_PLACEHOLDER), "{}")
        return template.format(pk)


class GeometryField(serializers.Field):
    def to_representation(self, value):
        return wkb_to_geojson(value)


class BaselineListSerializer(serializers.ModelSerializer):
    url = UrlField("api:property-detail")
    county = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    neighborhood = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Property
        fields = LIST_FIELDS


class BaselineDetailSerializer(BaselineListSerializer):
    geometry = GeometryField(read_only=True)
    values_url = UrlField("api:property-values")

    class Meta(BaselineListSerializer.Meta):
        fields = DETAIL_FIELDS


class BaselineFeatureSerializer(BaselineListSerializer):
    def to_representation(self, instance):
        return {
            "type": "Feature",
            "id": instance.pk,
            "geometry": wkb_to_geojson(instance.geometry),
            "properties": super().to_representation(instance),
        }


class BaselineGeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


class BaselineCursorPagination(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class BaselinePropertyViewSet(CountyScopedReadOnlyViewSet):
    queryset = Property.objects.select_related("county", "neighborhood").defer("county__settings")
    authentication_classes = [JWTAuthentication]
    renderer_classes = [JSONRenderer, BaselineGeoJSONRenderer]
    pagination_class = BaselineCursorPagination
    filter_backends = [DjangoFilterBackend, SearchFilter]
    filterset_class = PropertyFilterSet
    search_fields = ["parcel_number", "situs_address", "owner_name"]

    @property
    def wants_geojson(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return renderer is not None and renderer.format == "geojson"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and not self.wants_geojson:
            return queryset.defer(*LIST_DEFERRED_FIELDS)
        return queryset

    def get_serializer_class(self):
        if self.wants_geojson:
            return BaselineFeatureSerializer
        return BaselineDetailSerializer if self.action == "retrieve" else BaselineListSerializer

    def list(self, request, *args, **kwargs):
        if not self.wants_geojson:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        features = self.get_serializer(page, many=True).data
        return self.get_paginated_response({"type": "FeatureCollection", "features": features})

    def get_paginated_response(self, data):
        if isinstance(data, dict):  # GeoJSON: the page is the FeatureCollection, the links its foreign members
            links = {"next": self.paginator.get_next_link(), "previous": self.paginator.get_previous_link()}
            return Response({**data, **links})
        return super().get_paginated_response(data)


class OffsetPropertyViewSet(BaselinePropertyViewSet):
    """The baseline with DRF's LimitOffsetPagination (and its COUNT(*)): the pagination comparison of issue 2."""

    pagination_class = LimitOffsetPagination
