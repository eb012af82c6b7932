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

from django.core.exceptions import FieldDoesNotExist, MultipleObjectsReturned
from django.db import connections, models
from django.db.models.query import MAX_GET_RESULTS
from django.http import Http404
from rest_framework import ISO_8601, serializers
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.settings import api_settings

from counties.access import county_ids_for
from terrafusion.api.fields import DetailUrlField, detail_url_template
from terrafusion.api.viewsets import CountyScopedViewSetMixin

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

    For a viewset whose queryset depends on the request through `restrict()` alone (it does not override
    `get_queryset`), the county ids the user may view and the columns decide the rows entirely: the `values()`
    queryset and the compiled detail query are then built once per process for each such combination
    (`Prepared`), instead of once per request.
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

    def fast_columns(self) -> tuple[str, ...]:
        mapper = row_mapper(self.get_fast_serializer_class())
        return tuple(dict.fromkeys([*mapper.columns, *self.extra_columns()]))

    def prepared(self) -> "Prepared | None":
        """This request's rows prepared once per process, or None when `get_queryset` is the viewset's own."""
        if type(self).get_queryset is not CountyScopedViewSetMixin.get_queryset:
            return None
        county_ids = county_ids_for(self.request.user, "view")
        columns = self.fast_columns()
        key = (type(self), columns, None if county_ids is None else tuple(sorted(county_ids)))
        prepared = _PREPARED.get(key)
        if prepared is None:
            if len(_PREPARED) >= MAX_PREPARED:
                _PREPARED.clear()
            prepared = _PREPARED[key] = Prepared(self.get_queryset().values(*columns))
        return prepared

    def fast_rows(self):
        """`get_queryset().values(columns)`, a fresh queryset each call."""
        prepared = self.prepared()
        if prepared is None:
            return self.get_queryset().values(*self.fast_columns())
        return prepared.rows.all()  # a clone: the prepared queryset itself is never evaluated

    def represent_rows(self, rows: list[dict]) -> list:
        represent = row_mapper(self.get_fast_serializer_class()).bind(self.request)
        return [represent(row) for row in rows]

    def list(self, request, *args, **kwargs):
        rows = self.filter_queryset(self.fast_rows())
        page = self.paginate_queryset(rows)
        if page is None:
            return self.list_response(self.represent_rows(list(rows)))
        return self.list_response(self.represent_rows(page), paginated=True)

    def list_response(self, data, *, paginated: bool = False):
        return self.get_paginated_response(data) if paginated else Response(data)

    def retrieve(self, request, *args, **kwargs):
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        prepared = self.prepared()
        lookup = prepared.lookup(self.lookup_field) if prepared is not None else None
        if lookup is not None:
            row = lookup.get(value)
            if row is None:
                raise Http404
        else:
            row = get_object_or_404(self.fast_rows(), **{self.lookup_field: value})
        self.check_object_permissions(request, row)
        return Response(self.represent_rows([row])[0])


MAX_PREPARED = 1_000  # (viewset, columns, county ids) combinations per process; cleared whole when full
_PREPARED: dict[tuple, "Prepared"] = {}


class Prepared:
    """A viewset's `values()` rows for one set of county ids and columns, and its compiled detail lookups."""

    def __init__(self, rows: models.QuerySet):
        self.rows = rows
        self._lookups: dict[str, CompiledLookup | None] = {}

    def lookup(self, lookup_field: str) -> "CompiledLookup | None":
        if lookup_field not in self._lookups:
            self._lookups[lookup_field] = CompiledLookup.of(self.rows, lookup_field)
        return self._lookups[lookup_field]


class CompiledLookup:
    """A `values()` query for one row by an integer key, compiled once; each request runs its SQL with its key.

    Building a detail query (`values()`, `filter()`, the county restriction) and compiling it to SQL were a third
    of a detail request's Python time, the same work each time with only the key changing. The query is the ORM's
    own: compiled with a marker key, whose place in the parameters is then taken by each request's key, and its
    rows go through the compiler's own converters. Keys are checked as the ORM checks them: not an integer is 404
    (`filter(pk="x")` raises ValueError, which DRF answers 404), outside the column's range no row.
    """

    MARKER = 7_318_044_512_379_113  # a key no table here reaches; must occur once among the parameters

    def __init__(self, compiler, sql: str, params: list, index: int, names: list[str], key_range):
        self.compiler, self.sql, self.params, self.index, self.names = compiler, sql, params, index, names
        self.key_range = key_range

    @classmethod
    def of(cls, rows: models.QuerySet, lookup_field: str) -> "CompiledLookup | None":
        """The compiled lookup of `rows` by `lookup_field`, or None when the field is not an integer column."""
        field = rows.model._meta.pk if lookup_field == "pk" else rows.model._meta.get_field(lookup_field)
        if not isinstance(field, models.IntegerField | models.AutoField):
            return None
        connection = connections[rows.db]
        query = rows.filter(**{lookup_field: cls.MARKER})[:MAX_GET_RESULTS].query
        compiler = query.get_compiler(rows.db)
        sql, params = compiler.as_sql()
        where = [index for index, param in enumerate(params) if param == cls.MARKER]
        if len(where) != 1:
            return None
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        key_range = connection.ops.integer_field_range(field.get_internal_type())
        return cls(compiler, sql, list(params), where[0], names, key_range)

    def get(self, value) -> dict | None:
        try:
            key = int(value)
        except (TypeError, ValueError):
            raise Http404 from None
        low, high = self.key_range
        if (low is not None and key < low) or (high is not None and key > high):
            return None
        params = list(self.params)
        params[self.index] = key
        with connections[self.compiler.using].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        rows = [dict(zip(self.names, row, strict=True)) for row in self.compiler.results_iter(results=[fetched])]
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"{len(rows)} rows for one key")
        return rows[0] if rows else None
