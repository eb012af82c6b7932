from counties.api.serializers import CountySerializer
from counties.models import County
from terrafusion.api.viewsets import CountyScopedReadOnlyViewSet


class CountyViewSet(CountyScopedReadOnlyViewSet):
    """The counties you hold a role in."""

    queryset = County.objects.filter(is_active=True)
    serializer_class = CountySerializer
    filterset_fields = ["slug", "state", "fips_code"]
