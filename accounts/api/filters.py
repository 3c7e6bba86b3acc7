"""Query filters shared by the API's FilterSets, and the people filters.

django-filter's ``BooleanFilter`` turns a value it does not recognise (``?is_active=maybe``)
into "no filter", so a typo silently returns everything. :class:`BooleanFilter` refuses it
with a 400 naming the parameter, as every other filter does. :class:`UtcIsoDateTimeFilter`
does the same for times PostgreSQL cannot take.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from accounts.models import TeamGroup, User
from accounts.roles import Role

TRUE_VALUES = {"true", "1"}
FALSE_VALUES = {"false", "0"}


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``); absent means no filter; anything else is an error."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


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


class UserFilter(django_filters.FilterSet):
    """``?role=admin&role=manager&email=…&is_active=true`` over the organization's members."""

    role = django_filters.MultipleChoiceFilter(
        choices=Role.choices, help_text="The member's role in this organization."
    )
    email = django_filters.CharFilter(lookup_expr="iexact", help_text="Exact address (any case).")
    is_active = BooleanFilter(help_text="false: accounts that can no longer sign in.")

    class Meta:
        model = User
        fields = ["role", "email", "is_active"]


class TeamFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains (any case).")

    class Meta:
        model = TeamGroup
        fields = ["name"]
