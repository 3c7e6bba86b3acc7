"""Query filters for incidents, services, escalation policies and schedules.

An unknown value (``?status=sleeping``, a malformed id, a time zone that does not exist) is
a 400 naming the parameter, never a silently unfiltered list.
"""

from __future__ import annotations

import uuid

import django_filters
from django.db.models import Q, QuerySet

from accounts.api.filters import UtcIsoDateTimeFilter
from accounts.models import TeamMembership
from accounts.validators import validate_time_zone
from incidents.models import (
    EscalationPolicy,
    EscalationTarget,
    Incident,
    OnCallSchedule,
    ScheduleLayerMember,
    Service,
    Severity,
    Urgency,
)


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


def team_schedules(team_id: uuid.UUID) -> QuerySet:
    """Ids of the schedules a team takes turns on: a member of it is in one of their layers."""
    members = TeamMembership.objects.filter(team_id=team_id).values("user_id")
    return ScheduleLayerMember.objects.filter(user_id__in=members).values("layer__schedule_id")


class ServiceFilter(django_filters.FilterSet):
    """``?status=active&escalation_policy=…&team=…&name=api``."""

    status = django_filters.MultipleChoiceFilter(choices=Service.Status.choices)
    escalation_policy = django_filters.UUIDFilter(field_name="escalation_policy_id")
    team = django_filters.UUIDFilter(
        method="filter_team",
        help_text=(
            "Services whose escalation policy pages this team: a level targets the team "
            "or a schedule its members take turns on."
        ),
    )
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains (any case).")

    class Meta:
        model = Service
        fields = ["status", "escalation_policy", "team", "name"]

    def filter_team(self, queryset: QuerySet, name: str, value: uuid.UUID) -> QuerySet:
        targets = EscalationTarget.objects.filter(
            Q(team_id=value) | Q(schedule_id__in=team_schedules(value))
        )
        return queryset.filter(escalation_policy_id__in=targets.values("rule__policy_id"))


class EscalationPolicyFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains (any case).")

    class Meta:
        model = EscalationPolicy
        fields = ["name"]


class ScheduleFilter(django_filters.FilterSet):
    """``?name=primary&time_zone=Europe/Berlin&team=…``."""

    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Name contains (any case).")
    time_zone = django_filters.CharFilter(
        validators=[validate_time_zone], help_text="IANA time zone, e.g. Europe/Berlin."
    )
    team = django_filters.UUIDFilter(
        method="filter_team", help_text="Schedules with a member of this team in a layer."
    )

    class Meta:
        model = OnCallSchedule
        fields = ["name", "time_zone", "team"]

    def filter_team(self, queryset: QuerySet, name: str, value: uuid.UUID) -> QuerySet:
        return queryset.filter(pk__in=team_schedules(value))
