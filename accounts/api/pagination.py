"""Cursor pagination: stable under inserts (new incidents never shift a page)."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


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
