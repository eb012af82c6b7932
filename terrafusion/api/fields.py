"""Serializer fields shared by the API."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

_PLACEHOLDER = 987654321987


def detail_url_template(view_name: str, request) -> str:
    """The absolute URL of `view_name` for this request with `{}` where the id goes: one reverse for a page."""
    return reverse(view_name, args=[_PLACEHOLDER], request=request).replace(str(_PLACEHOLDER), "{}")


@extend_schema_field(OpenApiTypes.URI)
class DetailUrlField(serializers.Field):
    """The absolute URL of an object's detail route, reversed once per request, not once per row.

    HyperlinkedIdentityField resolves the URL for every row, which is a third of the cost of
    serialising a 100-row page. The fast read path (terrafusion/api/rows.py) uses the same template.
    """

    def __init__(self, view_name: str, **kwargs):
        self.view_name = view_name
        super().__init__(source="pk", read_only=True, **kwargs)

    def to_representation(self, pk) -> str:
        cache = self.context.setdefault("_detail_url_templates", {})
        template = cache.get(self.view_name)
        if template is None:
            template = cache[self.view_name] = detail_url_template(self.view_name, self.context.get("request"))
        return template.format(pk)
