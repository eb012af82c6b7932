"""The orjson renderer writes the bytes DRF's JSONRenderer writes, including where orjson alone would differ."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from terrafusion.api.renderers import GeoJSONRenderer, ORJSONRenderer

SAMPLES = {
    "text": {"name": 'Müller — 山田 \u2028\u2029 "q" \\ \t\n\x01 \x7f', "empty": "", "none": None},
    "numbers": {"int": -(2**63), "float": -119.20050000000001, "small": 0.1, "bool": [True, False]},
    "decimal": Decimal("12345678901234567890.123"),
    "datetime": datetime.datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=datetime.UTC),
    "naive": datetime.datetime(2025, 3, 1, 12, 30, 45, 999999),
    "date": datetime.date(2024, 2, 29),
    "time": datetime.time(8, 15, 1, 500),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "lazy": gettext_lazy("This field is required."),
    "error": [ErrorDetail("Invalid cursor.", code="invalid_cursor")],
    "nested": [{"a": [1, [2, {"b": ()}]]}],
}


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_same_bytes_as_drf(key):
    data = {key: SAMPLES[key]}
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)


def test_same_bytes_for_everything_at_once():
    assert ORJSONRenderer().render(SAMPLES) == JSONRenderer().render(SAMPLES)


def test_what_orjson_cannot_write_falls_back_to_drf():
    data = {"big": 2**70, "keys": {1: "int key"}}
    assert (
        ORJSONRenderer().render(data)
        == JSONRenderer().render(data)
        == b'{"big":1180591620717411303424,"keys":{"1":"int key"}}'
    )


def test_pretty_printing_falls_back_to_drf():
    data = {"a": [1, 2]}
    rendered = ORJSONRenderer().render(data, "application/json; indent=4")
    assert (
        rendered
        == JSONRenderer().render(data, "application/json; indent=4")
        == b'{\n    "a": [\n        1,\n        2\n    ]\n}'
    )
    assert ORJSONRenderer().render(data, renderer_context={"indent": 2}) == JSONRenderer().render(
        data, renderer_context={"indent": 2}
    )


def test_none_is_an_empty_body_and_geojson_is_its_media_type():
    assert ORJSONRenderer().render(None) == b""
    assert GeoJSONRenderer.media_type == "application/geo+json"
    assert GeoJSONRenderer().render({"type": "FeatureCollection"}) == b'{"type":"FeatureCollection"}'
