"""Query filters for checks and their results."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from accounts.api.filters import BooleanFilter, UtcIsoDateTimeFilter
from monitoring.models import (
    CheckResult,
    CheckState,
    CheckType,
    MonitoringCheck,
    MonitoringLocation,
    ResultStatus,
)

RESULT_STATUSES = [("up", "Up"), ("degraded", "Degraded"), ("down", "Down")]
STATUS_CODES = {"up": ResultStatus.UP, "degraded": ResultStatus.DEGRADED, "down": ResultStatus.DOWN}


class CheckFilter(django_filters.FilterSet):
    """``?check_type=http&state=down&state=unconfirmed_down&service=…&location=eu-west``."""

    check_type = django_filters.MultipleChoiceFilter(choices=CheckType.choices)
    state = django_filters.MultipleChoiceFilter(choices=CheckState.choices)
    is_paused = BooleanFilter()
    service = django_filters.UUIDFilter(field_name="service_id")
    location = django_filters.ModelChoiceFilter(
        field_name="locations",
        to_field_name="code",
        queryset=MonitoringLocation.objects.all(),
        help_text="Checks that run from this location (code).",
    )

    class Meta:
        model = MonitoringCheck
        fields = ["check_type", "state", "is_paused", "service", "location"]


class CheckResultFilter(django_filters.FilterSet):
    """``?since=…&until=…&status=down&location=us-east`` over one check's recent results."""

    since = UtcIsoDateTimeFilter(
        field_name="checked_at", lookup_expr="gte", help_text="Results at or after this time."
    )
    until = UtcIsoDateTimeFilter(
        field_name="checked_at", lookup_expr="lt", help_text="Results before this time."
    )
    status = django_filters.MultipleChoiceFilter(
        choices=RESULT_STATUSES, method="filter_status", help_text="up, degraded or down."
    )
    location = django_filters.ModelMultipleChoiceFilter(
        to_field_name="code",
        queryset=MonitoringLocation.objects.all(),
        method="filter_location",
        help_text="Location code(s); heartbeat results have none.",
    )

    class Meta:
        model = CheckResult
        fields = ["since", "until", "status", "location"]

    def filter_status(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(status__in=[STATUS_CODES[v] for v in value])

    def filter_location(self, queryset: QuerySet, name: str, value: list) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(location_id__in=[location.pk for location in value])


class LocationFilter(django_filters.FilterSet):
    """``?is_active=true`` (where new checks may run) and ``?region=europe``."""

    is_active = BooleanFilter(help_text="false: retired locations (existing checks may name them).")
    region = django_filters.CharFilter(
        lookup_expr="icontains", help_text="Region contains (any case), e.g. europe."
    )

    class Meta:
        model = MonitoringLocation
        fields = ["is_active", "region"]
