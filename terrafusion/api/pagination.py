"""Cursor pagination by primary key: every page costs the same however deep (no COUNT, no OFFSET)."""

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if isinstance(data, dict) and data.get("type") == "FeatureCollection":
            # GeoJSON: the page is the FeatureCollection itself, with the links as foreign members.
            response.data = {**data, "next": self.get_next_link(), "previous": self.get_previous_link()}
        return response


class NewestFirstCursorPagination(CursorPagination):
    """Jobs and other logs: newest first."""

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 500
