"""All of terrafusion.urls, plus the bench's comparison routes (bench/baseline.py), never mounted in the product.

- /bench/baseline/properties/ and /bench/baseline/properties/<id>/: the same requests as the API's property
  list (cursor pages, `?format=geojson`) and detail, answered the straightforward DRF way ("today's path");
- /bench/offset/properties/: the baseline list with DRF's LimitOffsetPagination (and its COUNT(*)).
"""

from django.urls import include, path

from bench.baseline import BaselinePropertyViewSet, OffsetPropertyViewSet

urlpatterns = [
    path(
        "bench/baseline/properties/",
        BaselinePropertyViewSet.as_view({"get": "list"}),
        name="bench-baseline-property-list",
    ),
    path(
        "bench/baseline/properties/<int:pk>/",
        BaselinePropertyViewSet.as_view({"get": "retrieve"}),
        name="bench-baseline-property-detail",
    ),
    path(
        "bench/offset/properties/",
        OffsetPropertyViewSet.as_view({"get": "list"}),
        name="bench-offset-property-list",
    ),
    path("", include("terrafusion.urls")),
]
