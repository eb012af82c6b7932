"""Base viewsets: every queryset is restricted by county here, so a concrete viewset cannot forget."""

from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from terrafusion.api.permissions import CountyPermission


class CountyScopedViewSetMixin:
    """Restricts `queryset` to the counties where the user may view; write checks per object."""

    permission_classes = [IsAuthenticated, CountyPermission]

    def get_queryset(self):
        return super().get_queryset().restrict(self.request.user, "view")


class CountyScopedReadOnlyViewSet(CountyScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class CountyScopedRetrieveUpdateViewSet(
    CountyScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    http_method_names = ["get", "patch", "head", "options"]
