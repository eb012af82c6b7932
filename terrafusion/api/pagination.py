"""Cursor pagination by primary key: every page costs the same however deep (no COUNT, no OFFSET).

A cursor comes back from the client, so it is checked before it reaches the query: one that does not
decode, or whose position is not a value of the ordering field, is a 400 in the shared error shape
(DRF would answer 404 for the first and let the second fail in the database, as a 500 for an id or,
by luck, a 400 for a date).
"""

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


def _invalid_cursor() -> ValidationError:
    return ValidationError(
        {"cursor": ["Invalid cursor; use the next or previous link of a page as it was given."]}, code="invalid_cursor"
    )


class CheckedCursorPagination(CursorPagination):
    """CursorPagination that refuses a tampered cursor with 400 instead of passing it to the database."""

    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is None or cursor.position is None:
            return cursor
        try:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        except (AttributeError, FieldDoesNotExist):
            return cursor  # an ordering by annotation: nothing to check the position against
        try:
            # to_python: the type (an id, a date); run_validators: the column's range (a bigint's limits).
            field.run_validators(field.to_python(cursor.position))
        except DjangoValidationError:
            raise _invalid_cursor() from None
        return cursor


class IdCursorPagination(CheckedCursorPagination):
    ordering = "id"
    max_page_size = 1000

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            # GeoJSON: the page is the FeatureCollection itself, with the links as foreign members.
            response.data = {**data, "next": self.get_next_link(), "previous": self.get_previous_link()}
        return response

    def get_paginated_response_schema(self, schema):
        items = schema.get("items", {})
        if items.get("properties", {}).get("type", {}).get("enum") == ["FeatureCollection"]:
            return items  # a GeoJSON page is the FeatureCollection itself (above), documented with its links
        return super().get_paginated_response_schema(schema)


class NewestFirstCursorPagination(CheckedCursorPagination):
    """Jobs and other logs: newest first."""

    ordering = "-created_at"
    max_page_size = 500
