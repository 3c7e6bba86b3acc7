"""Query filters for incident lists: ``?status=triggered&status=acknowledged&service=…``."""

from __future__ import annotations

import django_filters

from accounts.api.filters import UtcIsoDateTimeFilter
from incidents.models import Incident, Severity, Urgency


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    urgency = django_filters.MultipleChoiceFilter(choices=Urgency.choices)
    service = django_filters.UUIDFilter(field_name="service_id")
    dedup_key = django_filters.CharFilter()
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["status", "severity", "urgency", "service", "dedup_key"]
