"""The OpenAPI schema view: generated once per process, then served from memory (and throttled like the API).

Generating the schema walks every view and serializer, which takes long enough that serving it per
request would let anyone keep the web workers busy. The schema changes only with the code, that is
with a deploy, which starts new processes. Keys are bounded: an unknown `?version=` or `?lang=` maps
to the default schema rather than to a new cache entry.
"""

import threading

from django.conf import settings
from django.test.signals import setting_changed
from django.utils import translation
from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings

_schemas: dict[tuple, dict] = {}
_lock = threading.Lock()


def _forget_schemas(**kwargs) -> None:
    _schemas.clear()  # a test changed the settings the schema is built from


setting_changed.connect(_forget_schemas, dispatch_uid="terrafusion.api.schema_view.forget")


def _language() -> str:
    """The language the schema is built in: the request's if supported, else the default (its variant, e.g. `en`)."""
    for code in (translation.get_language(), settings.LANGUAGE_CODE):
        try:
            return translation.get_supported_language_variant(code or "")
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


class CachedSpectacularAPIView(SpectacularAPIView):
    def _get_version_parameter(self, request):
        version = request.GET.get("version")
        return version if version in (api_settings.ALLOWED_VERSIONS or ()) else None

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (type(self), version, _language())
        schema = _schemas.get(key)
        if schema is None:
            with _lock:
                schema = _schemas.get(key)
                if schema is None:
                    generator = self.generator_class(urlconf=self.urlconf, api_version=version, patterns=self.patterns)
                    schema = _schemas[key] = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=schema,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )
