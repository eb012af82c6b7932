"""The fast read path: `values()` rows mapped to a serializer's JSON, without model instances or serializer fields.

A ModelSerializer builds its fields on every request and calls each field for each row of each instance: a page
of 100 parcels is ~100 model instances and ~2,700 field calls, most of them returning the value unchanged.
`RowMapper` reads a serializer class once, at the first request, and notes for each of its fields the column
to select and whether the value needs converting at all (ints, strings, booleans, floats and slugs do not;
decimals, dates, datetimes, URLs and geometry do, through the same DRF field's `to_representation`, so the
output is the serializer's by construction). A test renders the same rows both ways and compares the bytes.

The serializer stays the contract: the OpenAPI schema and writes use it, and a field the mapper cannot mirror
(a method field, a nested serializer, `source="*"`) makes `RowMapper` refuse the serializer at start-up rather
than answer something else.
"""

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from rest_framework import ISO_8601, serializers
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.settings import api_settings

from terrafusion.api.fields import DetailUrlField, detail_url_template

# Fields whose representation of a non-null database value is the value itself (DRF's `int(v)`, `str(v)`,
# `float(v)`, `bool`): no call per row.
_IDENTITY_FIELDS = (
    serializers.IntegerField,
    serializers.CharField,
    serializers.FloatField,
    serializers.BooleanField,
    serializers.UUIDField,
)
# Fields whose representation depends only on the value: the bound field converts it, as the serializer would.
_VALUE_FIELDS = (
    serializers.DecimalField,
    serializers.DateTimeField,
    serializers.DateField,
    serializers.TimeField,
    serializers.JSONField,
)


class RowMapper:
    """How to turn a `values()` row into what `serializer_class` renders for the same database row."""

    def __init__(self, serializer_class: type[serializers.Serializer]):
        self.serializer_class = serializer_class
        serializer = serializer_class()
        model = serializer.Meta.model
        self.columns: list[str] = []  # what to select, in no particular order
        self._fields: list[tuple[str, str]] = []  # (output name, column), in the serializer's order
        self._converters: list[tuple[str, Callable[[Any], Any]]] = []  # (output name, value -> representation)
        # (output name, request -> converter): converters that depend on the request (URL templates, time zone)
        self._per_request: list[tuple[str, Callable[[Any], Callable[[Any], Any]]]] = []
        for name, field in serializer.fields.items():
            if field.write_only:
                continue
            column = self._column(model, name, field)
            self._fields.append((name, column))
            if column not in self.columns:
                self.columns.append(column)

    def _column(self, model, name: str, field: serializers.Field) -> str:
        source = field.source
        if source == "*" or isinstance(field, serializers.BaseSerializer | serializers.SerializerMethodField):
            raise TypeError(f"{self.serializer_class.__name__}.{name}: {type(field).__name__} has no column")
        column = source.replace(".", "__")
        if isinstance(field, DetailUrlField):
            view_name = field.view_name
            self._per_request.append((name, lambda request: detail_url_template(view_name, request).format))
            return "pk"
        if isinstance(field, serializers.SlugRelatedField):
            return f"{column}__{field.slug_field}"
        if isinstance(field, serializers.PrimaryKeyRelatedField) and field.pk_field is None:
            return column  # values() gives a foreign key's id under the relation's name
        model_field = self._model_field(model, column)
        if model_field is not None and model_field.is_relation:
            raise TypeError(f"{self.serializer_class.__name__}.{name}: a relation needs a related field")
        if type(field) in _IDENTITY_FIELDS or _choice_keys_are_strings(field):
            return column
        if _is_iso_datetime(field):
            self._per_request.append((name, lambda request: _iso_datetime_converter(field)))
            return column
        if isinstance(field, _VALUE_FIELDS) or _converts_values(field):
            self._converters.append((name, field.to_representation))
            return column
        raise TypeError(f"{self.serializer_class.__name__}.{name}: {type(field).__name__} is not mirrored")

    @staticmethod
    def _model_field(model, column: str) -> models.Field | None:
        parts = column.split("__")
        try:
            for part in parts[:-1]:
                model = model._meta.get_field(part).related_model
            return model._meta.get_field(parts[-1])
        except (FieldDoesNotExist, AttributeError):
            return None

    def bind(self, request) -> Callable[[dict], dict]:
        """The row -> representation function for one request (detail URLs are absolute to its host)."""
        fields = self._fields
        converters = self._converters + [(name, factory(request)) for name, factory in self._per_request]

        def represent(row: dict) -> dict:
            out = {name: row[column] for name, column in fields}
            for name, convert in converters:
                value = out[name]
                if value is not None:  # DRF represents a null attribute as null without calling the field
                    out[name] = convert(value)
            return out

        return represent


def _is_iso_datetime(field) -> bool:
    return (
        type(field) is serializers.DateTimeField
        and (getattr(field, "format", api_settings.DATETIME_FORMAT) or "").lower() == ISO_8601
    )


def _iso_datetime_converter(field: serializers.DateTimeField) -> Callable[[Any], Any]:
    """DateTimeField.to_representation for ISO 8601 output, with the time zone looked up once per request.

    DRF looks the current time zone up for every value (a thread-local read through asgiref), which was most of
    the cost of a page's timestamps. An aware value (every timestamp read from PostgreSQL with USE_TZ) takes the
    same steps as DRF's: to the field's time zone, isoformat, "+00:00" as "Z"; anything else goes to the field.
    """
    tz = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if tz is None:
        return field.to_representation

    def convert(value):
        if type(value) is not datetime.datetime or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(tz).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's error, raised the same way
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _choice_keys_are_strings(field) -> bool:
    # A ChoiceField answers choice_strings_to_values[str(v)]: the value itself when every key is a string.
    return type(field) is serializers.ChoiceField and all(isinstance(key, str) for key in field.choices)


def _converts_values(field) -> bool:
    # A project field (e.g. the geometry) that declares it represents the column value, not the instance.
    return getattr(field, "represents_column_value", False)


_MAPPERS: dict[type, RowMapper] = {}


def row_mapper(serializer_class: type[serializers.Serializer]) -> RowMapper:
    """The mapper of a serializer class, built once per process."""
    mapper = _MAPPERS.get(serializer_class)
    if mapper is None:
        mapper = _MAPPERS[serializer_class] = RowMapper(serializer_class)
    return mapper


class FastReadMixin:
    """List and retrieve from `values()` rows through `row_mapper(get_serializer_class())`.

    Everything else stays DRF's: `get_queryset()` (so county RBAC through `restrict()`), the filter backends (on
    lists only: a detail is found by its id alone), the paginator (cursor pages read positions from dict rows),
    the permissions and the renderers. Writes use the serializers as before.
    """

    # Extra columns `represent_rows` needs beyond the serializer's (e.g. the geometry of a GeoJSON feature).
    def extra_columns(self) -> Iterable[str]:
        return ()

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset  # the filterset is for lists; building and validating it for a detail is waste
        return super().filter_queryset(queryset)

    def get_fast_serializer_class(self):
        """The serializer whose output the rows are mapped to."""
        return self.get_serializer_class()

    def fast_rows(self, queryset):
        mapper = row_mapper(self.get_fast_serializer_class())
        return queryset.values(*dict.fromkeys([*mapper.columns, *self.extra_columns()]))

    def represent_rows(self, rows: list[dict]) -> list:
        represent = row_mapper(self.get_fast_serializer_class()).bind(self.request)
        return [represent(row) for row in rows]

    def list(self, request, *args, **kwargs):
        rows = self.fast_rows(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(rows)
        if page is None:
            return self.list_response(self.represent_rows(list(rows)))
        return self.list_response(self.represent_rows(page), paginated=True)

    def list_response(self, data, *, paginated: bool = False):
        return self.get_paginated_response(data) if paginated else Response(data)

    def retrieve(self, request, *args, **kwargs):
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        rows = self.fast_rows(self.filter_queryset(self.get_queryset()))
        row = get_object_or_404(rows, **{self.lookup_field: self.kwargs[lookup_url_kwarg]})
        self.check_object_permissions(request, row)
        return Response(self.represent_rows([row])[0])
