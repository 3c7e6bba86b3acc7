"""Incident-response part of the demo organization: services, a policy, an on-call rota.

Idempotent, like the rest of the demo: running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db import transaction

from accounts.models import Organization, User
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleRestriction,
    Service,
    ServiceIntegration,
)


@transaction.atomic
def load_demo_incident_response(organization: Organization, people: list[User]) -> Service:
    """A weekly primary rota, a business-hours secondary, a two-level policy, two services."""
    zone = zoneinfo.ZoneInfo("Europe/London")
    monday = dt.date(2026, 1, 5)  # a Monday: weekly hand-offs on Monday 09:00 London time
    primary, created = OnCallSchedule.objects.get_or_create(
        organization=organization, name="Primary on-call", defaults={"time_zone": "Europe/London"}
    )
    if created:
        layer = ScheduleLayer.objects.create(
            organization=organization,
            schedule=primary,
            name="Weekly rotation",
            rotation_unit=ScheduleLayer.RotationUnit.WEEKS,
            rotation_length=1,
            rotation_start=dt.datetime.combine(monday, dt.time(9), tzinfo=zone),
        )
        for position, person in enumerate(people[:3]):
            ScheduleLayerMember.objects.create(
                organization=organization, layer=layer, user=person, position=position
            )
    secondary, created = OnCallSchedule.objects.get_or_create(
        organization=organization,
        name="Business-hours secondary",
        defaults={"time_zone": "Europe/London"},
    )
    if created:
        layer = ScheduleLayer.objects.create(
            organization=organization,
            schedule=secondary,
            name="Weekdays 09-17",
            rotation_unit=ScheduleLayer.RotationUnit.DAYS,
            rotation_length=1,
            rotation_start=dt.datetime.combine(monday, dt.time(9), tzinfo=zone),
        )
        for position, person in enumerate(reversed(people[:3])):
            ScheduleLayerMember.objects.create(
                organization=organization, layer=layer, user=person, position=position
            )
        ScheduleRestriction.objects.create(
            organization=organization,
            layer=layer,
            kind=ScheduleRestriction.Kind.WEEKLY,
            start_day_of_week=1,
            start_time=dt.time(9),
            duration_minutes=4 * 1440 + 8 * 60,  # Monday 09:00 to Friday 17:00
        )
    policy, created = EscalationPolicy.objects.get_or_create(
        organization=organization, name="Default", defaults={"repeat_count": 1}
    )
    if created:
        first = EscalationRule.objects.create(
            organization=organization, policy=policy, position=0, delay_minutes=10
        )
        EscalationTarget.objects.create(
            organization=organization, rule=first, target_type="schedule", schedule=primary
        )
        second = EscalationRule.objects.create(
            organization=organization, policy=policy, position=1, delay_minutes=15
        )
        EscalationTarget.objects.create(
            organization=organization, rule=second, target_type="schedule", schedule=secondary
        )
    website = None
    for name, description in [
        ("Website", "The public website and its health endpoint."),
        ("Payments API", "Card payments; pages at any hour."),
    ]:
        service, created = Service.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={"description": description, "escalation_policy": policy},
        )
        if created:
            ServiceIntegration.objects.create(organization=organization, service=service)
        website = website or service
    return website
