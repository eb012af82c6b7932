"""JSON through orjson, and GeoJSON output (`?format=geojson`).

`ORJSONRenderer` answers the bytes DRF's JSONRenderer would (UNICODE_JSON: UTF-8, not \\u escapes; COMPACT_JSON:
no spaces; U+2028/U+2029 escaped so the output is also valid JavaScript), several times faster on a page of
rows. Values orjson does not know natively go through DRF's encoder (decimals, lazy strings, numpy scalars), and
datetimes too, because DRF writes them with milliseconds where orjson would keep microseconds. What orjson
cannot write at all (an int beyond 64 bits, a dict with non-string keys) and pretty-printed output (the
browsable API, `Accept: application/json; indent=4`) fall back to DRF's renderer, so nothing renders differently.
Known difference, JSON-equal: a float whose shortest form has an exponent (`1e+16` from Python, `1e16` from orjson).
A float NaN or infinity is `null` here where DRF (STRICT_JSON) fails the request.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder

_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_drf_default = DRFJSONEncoder().default


class ORJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_drf_default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF: the two line separators JSON allows raw but JavaScript does not (bytes.find is a memchr).
        if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
            rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return rendered


class GeoJSONRenderer(ORJSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"
