"""Query filters shared by every API resource."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC.

    ISO 8601 allows offsets PostgreSQL refuses (``-20:46``; it takes ±15:59), and a time
    at the edge of the calendar can fall outside it once shifted: either would reach the
    query as is and fail there. In UTC the offset is gone, and a time that cannot be
    expressed in UTC is reported as an invalid value of its parameter.
    """

    def to_python(self, value: object) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
