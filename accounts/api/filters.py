"""Query filters shared by the API's FilterSets, and the people filters.

django-filter's ``BooleanFilter`` turns a value it does not recognise (``?is_active=maybe``)
into "no filter", so a typo silently returns everything. :class:`BooleanFilter` refuses it
with a 400 naming the parameter, as every other filter does.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

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
