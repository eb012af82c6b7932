"""All of terrafusion.urls, plus one route for the offset-pagination comparison.

/bench/offset/properties/ is the production PropertyViewSet (same queryset, county restriction, auth,
filters and serializer) with DRF's LimitOffsetPagination (and its COUNT(*)) instead of the cursor.
"""

from django.urls import include, path
from rest_framework.pagination import LimitOffsetPagination

from properties.api.views import PropertyViewSet


class OffsetPropertyViewSet(PropertyViewSet):
    pagination_class = LimitOffsetPagination


urlpatterns = [
    path(
        "bench/offset/properties/",
        OffsetPropertyViewSet.as_view({"get": "list"}),
        name="bench-offset-property-list",
    ),
    path("", include("terrafusion.urls")),
]
