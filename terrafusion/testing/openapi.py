"""The OpenAPI schema as a contract in tests: a response that drifts from `/api/schema/` fails the test.

The API test base (terrafusion/testing/api.py) validates every response it sees with
`assert_matches_schema`; the schema is built once per test run, as `/api/schema/` builds it.
"""

import json
from functools import cache

from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse


@cache
def api_schema() -> dict:
    """The schema `/api/schema/` serves, as plain JSON data."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


@cache
def _openapi() -> OpenAPI:
    # GeoJSON (`?format=geojson`) is JSON: read it as such.
    config = Config(extra_media_type_deserializers={"application/geo+json": json.loads})
    return OpenAPI.from_dict(api_schema(), config=config)


class _ConcretePathRequest(DjangoOpenAPIRequest):
    """The request as far as a response check needs it: its concrete path (Django's route names, `<uuid:pk>`,
    need not match the schema's, `{id}`) and method; its body was consumed by the view already."""

    @property
    def path_pattern(self):
        return None

    @property
    def body(self) -> bytes:
        return b""


def assert_matches_schema(response) -> None:
    """Fail unless the response (status, headers, body) is one the schema documents for its request."""
    if getattr(response, "streaming", False):
        return  # files: the schema documents them as opaque bytes
    _openapi().validate_response(_ConcretePathRequest(response.wsgi_request), DjangoOpenAPIResponse(response))
