"""Query filters for the status-page API: ``?status_page=…`` everywhere, plus statuses."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from accounts.api.filters import BooleanFilter
from statuspages.models import (
    CLOSED_INCIDENT_STATUSES,
    Component,
    ComponentGroup,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    Subscriber,
)

# Statuspage reports scheduled maintenance with impact "maintenance".
MAINTENANCE_IMPACTS = [*Impact.choices, ("maintenance", "Maintenance")]
SUBSCRIBER_STATES = [("pending", "Pending"), ("active", "Active"), ("unsubscribed", "Unsubscribed")]


class StatusPageFilter(django_filters.FilterSet):
    """``?is_public=false`` (private pages) and ``?slug=…``."""

    is_public = BooleanFilter(help_text="true: public pages; false: private ones.")
    slug = django_filters.CharFilter(lookup_expr="iexact", help_text="The page's slug.")

    class Meta:
        model = StatusPage
        fields = ["is_public", "slug"]


class ComponentGroupFilter(django_filters.FilterSet):
    status_page = django_filters.UUIDFilter(field_name="status_page_id")

    class Meta:
        model = ComponentGroup
        fields = ["status_page"]


class ComponentFilter(django_filters.FilterSet):
    status_page = django_filters.UUIDFilter(field_name="status_page_id")
    group = django_filters.UUIDFilter(field_name="group_id")
    status = django_filters.MultipleChoiceFilter(choices=ComponentStatus.choices)

    class Meta:
        model = Component
        fields = ["status_page", "group", "status"]


class StatusPageIncidentFilter(django_filters.FilterSet):
    status_page = django_filters.UUIDFilter(field_name="status_page_id")
    status = django_filters.MultipleChoiceFilter(choices=IncidentStatus.choices)
    impact = django_filters.MultipleChoiceFilter(choices=Impact.choices)
    unresolved = BooleanFilter(
        method="filter_unresolved", help_text="true: only incidents not resolved yet."
    )

    class Meta:
        model = StatusPageIncident
        fields = ["status_page", "status", "impact", "unresolved"]

    def filter_unresolved(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        closed = {"status__in": CLOSED_INCIDENT_STATUSES}
        return queryset.exclude(**closed) if value else queryset.filter(**closed)


class MaintenanceWindowFilter(django_filters.FilterSet):
    status_page = django_filters.UUIDFilter(field_name="status_page_id")
    status = django_filters.MultipleChoiceFilter(choices=MaintenanceStatus.choices)

    class Meta:
        model = MaintenanceWindow
        fields = ["status_page", "status"]


class SubscriberFilter(django_filters.FilterSet):
    status_page = django_filters.UUIDFilter(field_name="status_page_id")
    channel = django_filters.ChoiceFilter(choices=Subscriber.Channel.choices)
    state = django_filters.ChoiceFilter(choices=SUBSCRIBER_STATES, method="filter_state")

    class Meta:
        model = Subscriber
        fields = ["status_page", "channel", "state"]

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        queryset = queryset.filter(unsubscribed_at__isnull=True)
        return queryset.filter(confirmed_at__isnull=value == "pending")
