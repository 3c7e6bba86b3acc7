"""Cursor pagination: stable under inserts (new incidents never shift a page)."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination


class ApiCursorPagination(CursorPagination):
    """``?limit=`` (1-100, default 25) and opaque ``next``/``previous`` links.

    Viewsets set ``ordering``; the cursor encodes a position on its first field, so it
    should be (nearly) unique, as ``created_at`` and names are.
    """

    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "-created_at"

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def decode_cursor(self, request) -> Cursor | None:
        # DRF answers a cursor it cannot read with 404; it is a bad parameter, like any other.
        try:
            return super().decode_cursor(request)
        except NotFound:
            error = {self.cursor_query_param: [self.invalid_cursor_message]}
            raise ValidationError(error) from None


class OldestFirstPagination(ApiCursorPagination):
    """For an object's history (timeline, notes, integrations): oldest first, whatever the
    viewset's own order. Entries written in one transaction share ``created_at``; ``id``
    breaks the tie so every page boundary is the same on every request."""

    ordering = ("created_at", "id")

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return self.ordering
