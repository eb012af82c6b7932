"""OGC API - Features (Part 1: Core) under /ogc/: the parcels of each county the user may view, as one collection
per county, for QGIS, ArcGIS and GDAL (its OAPIF driver). The same bearer token (or session) and the same county
check as the REST API: a county the user may not view is not there (404), not forbidden."""

import datetime
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from counties.models import County
from gis_export.choices import Attribute
from gis_export.selectors import county_extent, export_columns
from properties.geometry import bbox_overlapping, wkb_to_geojson_many
from properties.models import Property
from terrafusion.api.permissions import CountyPermission
from terrafusion.api.renderers import GeoJSONRenderer, ORJSONRenderer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
LIMIT_DEFAULT, LIMIT_MAX = 100, 10_000
# A feature's properties: the export's columns but the geometry, and `tf_id` is the feature's id.
COLUMNS = [c for c in export_columns(list(Attribute.values)) if c.name not in ("tf_id", "geometry")]
JSON, GEOJSON = "application/json", "application/geo+json"
TAGS = ["ogc"]
JSON_RESPONSES = {(200, JSON): OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}
GEOJSON_RESPONSES = {(200, GEOJSON): OpenApiTypes.OBJECT, (200, JSON): OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT,
                     404: OpenApiTypes.OBJECT}  # fmt: skip


def _link(request, name: str, args=(), *, rel: str, type_: str = JSON, title: str = "", query: str = "") -> dict:
    link = {"href": request.build_absolute_uri(reverse(name, args=args)) + query, "rel": rel, "type": type_}
    return {**link, "title": title} if title else link


def _counties(request):
    return County.objects.restrict(request.user, "view").filter(is_active=True).order_by("slug")


def _collection(request, county: County) -> dict:
    extent = county_extent(county) or [-180, -90, 180, 90]
    return {
        "id": county.slug,
        "title": f"{county.name} parcels",
        "description": f"The parcels of {county.name} with their current values, characteristics and last sale.",
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84}},
        "links": [
            _link(request, "ogc-collection", [county.slug], rel="self", title="This collection"),
            _link(request, "ogc-items", [county.slug], rel="items", type_=GEOJSON, title="The parcels"),
        ],
    }


class OgcView(APIView):
    renderer_classes = [ORJSONRenderer]
    permission_classes = [IsAuthenticated, CountyPermission]  # no role in any county: 403


class LandingView(OgcView):
    """The OGC API - Features landing page."""

    @extend_schema(operation_id="ogc_getLandingPage", tags=TAGS, responses=JSON_RESPONSES)
    def get(self, request):
        return Response({
            "title": "TerraFusion parcels",
            "description": "The parcels of the counties you may view (OGC API - Features).",
            "links": [
                _link(request, "ogc-landing", rel="self", title="This document"),
                _link(request, "schema", rel="service-desc", type_="application/vnd.oai.openapi+json;version=3.0",
                      title="The API definition", query="?format=json"),
                _link(request, "swagger-ui", rel="service-doc", type_="text/html", title="The API documentation"),
                _link(request, "ogc-conformance", rel="conformance", title="Conformance classes"),
                _link(request, "ogc-collections", rel="data", title="The collections: one per county"),
            ],
        })  # fmt: skip


class ConformanceView(OgcView):
    """The conformance classes this service implements."""

    @extend_schema(operation_id="ogc_getConformanceDeclaration", tags=TAGS, responses=JSON_RESPONSES)
    def get(self, request):
        return Response({"conformsTo": CONFORMANCE})


class CollectionsView(OgcView):
    """One collection of parcels per county you may view."""

    @extend_schema(operation_id="ogc_getCollections", tags=TAGS, responses=JSON_RESPONSES)
    def get(self, request):
        return Response({
            "links": [_link(request, "ogc-collections", rel="self", title="This document")],
            "collections": [_collection(request, county) for county in _counties(request)],
        })  # fmt: skip


class CollectionView(OgcView):
    """A county's parcels as a collection (404 for a county you may not view)."""

    @extend_schema(operation_id="ogc_describeCollection", tags=TAGS, responses=JSON_RESPONSES)
    def get(self, request, collection: str):
        return Response(_collection(request, get_object_or_404(_counties(request), slug=collection)))


class ItemsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=LIMIT_MAX, default=LIMIT_DEFAULT)
    bbox = serializers.CharField(required=False, help_text="minLon,minLat,maxLon,maxLat (CRS84).")
    cursor = serializers.IntegerField(required=False, min_value=0, help_text="From the `next` link: the page after.")

    def validate_bbox(self, value: str) -> list[float]:
        try:
            numbers = [float(part) for part in value.split(",")]
        except ValueError:
            raise serializers.ValidationError("Give four numbers: minLon,minLat,maxLon,maxLat.") from None
        if len(numbers) == 6:  # a 3D box: its horizontal part
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        if len(numbers) != 4 or numbers[0] > numbers[2] or numbers[1] > numbers[3]:
            raise serializers.ValidationError("Give four numbers: minLon,minLat,maxLon,maxLat, minimums first.")
        return numbers


def _features(rows: list[tuple]) -> list[dict]:
    geometries = wkb_to_geojson_many([row[-1] for row in rows])
    names = [column.name for column in COLUMNS]
    return [
        {"type": "Feature", "id": row[0], "geometry": geometry,
         "properties": {name: _plain(value) for name, value in zip(names, row[1:-1], strict=True)}}
        for row, geometry in zip(rows, geometries, strict=True)
    ]  # fmt: skip


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


def _parcels(county: County):
    return Property.objects.filter(county=county).values_list(
        "id", *(column.expression for column in COLUMNS), "geometry"
    )


class ItemsView(OgcView):
    """A page of a county's parcels (GeoJSON), in id order, within `bbox` if given; `next` links to the page after."""

    renderer_classes = [GeoJSONRenderer, ORJSONRenderer]

    @extend_schema(
        operation_id="ogc_getFeatures", tags=TAGS, parameters=[ItemsQuerySerializer], responses=GEOJSON_RESPONSES
    )
    def get(self, request, collection: str):
        county = get_object_or_404(_counties(request), slug=collection)
        query = ItemsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        limit, bbox, cursor = given["limit"], given.get("bbox"), given.get("cursor")
        parcels = _parcels(county)
        if bbox:
            parcels = parcels.filter(bbox_overlapping(*bbox))
        if cursor is not None:
            parcels = parcels.filter(id__gt=cursor)
        rows = list(parcels.order_by("id")[: limit + 1])
        page, more = rows[:limit], len(rows) > limit
        base = {"limit": str(limit), **({"bbox": ",".join(map(str, bbox))} if bbox else {})}
        links = [
            _link(request, "ogc-items", [county.slug], rel="self", type_=GEOJSON, title="This page",
                  query="?" + urlencode({**base, **({"cursor": str(cursor)} if cursor is not None else {})})),
            _link(request, "ogc-collection", [county.slug], rel="collection", title="The collection"),
        ]  # fmt: skip
        if more:
            links.append(_link(request, "ogc-items", [county.slug], rel="next", type_=GEOJSON, title="Next page",
                               query="?" + urlencode({**base, "cursor": str(page[-1][0])})))  # fmt: skip
        return Response({
            "type": "FeatureCollection",
            "timeStamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "numberReturned": len(page),
            "features": _features(page),
            "links": links,
        })  # fmt: skip


class ItemView(OgcView):
    """One parcel of the county as a GeoJSON Feature, by its TerraFusion id."""

    renderer_classes = [GeoJSONRenderer, ORJSONRenderer]

    @extend_schema(operation_id="ogc_getFeature", tags=TAGS, responses=GEOJSON_RESPONSES)
    def get(self, request, collection: str, feature: int):
        county = get_object_or_404(_counties(request), slug=collection)
        row = get_object_or_404(_parcels(county), id=feature)
        return Response({
            **_features([row])[0],
            "links": [_link(request, "ogc-item", [county.slug, feature], rel="self", type_=GEOJSON),
                      _link(request, "ogc-collection", [county.slug], rel="collection")],
        })  # fmt: skip
