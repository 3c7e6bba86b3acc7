"""A demo status page (slug ``demo``) with a few weeks of history, so the bars show something.

``load_demo_status_page(organization)`` is idempotent: a second call finds the page and
changes nothing. It runs on the system path (like ``alert24.demo.load_demo``).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from incidents.models import Service
from statuspages.models import (
    Component,
    ComponentGroup,
    ComponentService,
    ComponentStatusHistory,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
)
from statuspages.services import calculate_uptime, schedule_maintenance

DEMO_PAGE_SLUG = "demo"

# group, component, service name (or None), description
LAYOUT = [
    # Linked to the demo's services (incidents/demo.py), so their incidents show here.
    ("Core platform", "API", "Payments API", "Public REST API and webhooks."),
    ("Core platform", "Database", None, "Primary PostgreSQL cluster."),
    ("Customer-facing", "Web app", "Website", "The dashboard at app.example.com."),
    ("Customer-facing", "Notifications", None, "E-mail, SMS and push delivery."),
]

# days ago, hours into that day, minutes, component, status, incident name, impact, updates
PAST = [
    (
        3, 14, 45, "API", "partial_outage", "Elevated API error rates", "major",
        [
            ("investigating", 0, "We are seeing **elevated 5xx errors** on the API."),
            ("identified", 15, "A bad deploy was identified and is being rolled back."),
            ("monitoring", 30, "The rollback is complete; error rates are back to normal."),
            ("resolved", 45, "This incident has been resolved."),
        ],
    ),
    (
        12, 9, 20, "API", "major_outage", "API unavailable", "critical",
        [
            ("investigating", 0, "The API is not responding. We are investigating."),
            ("resolved", 20, "A failed load balancer was replaced; the API is back."),
        ],
    ),
    (
        20, 16, 120, "Web app", "degraded_performance", "Slow dashboard loading", "minor",
        [
            ("investigating", 0, "Some dashboards load slowly."),
            ("resolved", 120, "Caching was restored; dashboards load normally again."),
        ],
    ),
]  # fmt: skip


@transaction.atomic
def load_demo_status_page(organization: Organization) -> StatusPage:
    """Create the ``demo`` page of ``organization`` (or return it if it exists)."""
    existing = StatusPage.objects.filter(slug=DEMO_PAGE_SLUG).first()
    if existing is not None:
        return existing
    now = timezone.now()
    created = now - dt.timedelta(days=45)
    page = StatusPage.objects.create(
        organization=organization,
        name=f"{organization.name}",
        slug=DEMO_PAGE_SLUG,
        description="Current status and incident history of our services.",
        time_zone="UTC",
    )
    groups: dict[str, ComponentGroup] = {}
    components: dict[str, Component] = {}
    for position, (group_name, name, service_name, description) in enumerate(LAYOUT):
        if group_name not in groups:
            groups[group_name] = ComponentGroup.objects.create(
                organization=organization, status_page=page, name=group_name,
                position=len(groups),
            )  # fmt: skip
        component = Component.objects.create(
            organization=organization,
            status_page=page,
            group=groups[group_name],
            name=name,
            description=description,
            position=position,
        )
        components[name] = component
        if service_name:
            service = Service.objects.filter(
                organization=organization, name__iexact=service_name
            ).first() or Service.objects.create(organization=organization, name=service_name)
            ComponentService.objects.create(
                organization=organization, component=component, service=service
            )
    Component.objects.filter(status_page=page).update(created_at=created)

    # History: operational since creation, with the outages of the past incidents.
    ComponentStatusHistory.objects.filter(status_page=page).delete()
    history = [
        ComponentStatusHistory(
            organization=organization, component=c, status_page=page, old_status=None,
            new_status="operational", reason="created", changed_at=created,
        )
        for c in components.values()
    ]  # fmt: skip
    for days_ago, hour, minutes, name, status, title, impact, updates in PAST:
        start = (now - dt.timedelta(days=days_ago)).replace(
            hour=hour, minute=0, second=0, microsecond=0
        )
        end = start + dt.timedelta(minutes=minutes)
        component = components[name]
        history += [
            ComponentStatusHistory(
                organization=organization, component=component, status_page=page,
                old_status="operational", new_status=status, reason="demo", changed_at=start,
            ),
            ComponentStatusHistory(
                organization=organization, component=component, status_page=page,
                old_status=status, new_status="operational", reason="demo", changed_at=end,
            ),
        ]  # fmt: skip
        incident = StatusPageIncident.objects.create(
            organization=organization, status_page=page, name=title, status="resolved",
            impact=impact, started_at=start, resolved_at=end,
        )  # fmt: skip
        for update_status, offset, body in updates:
            at = start + dt.timedelta(minutes=offset)
            StatusPageIncidentUpdate.objects.create(
                organization=organization, status_page_incident=incident,
                status=update_status, body=body, deliver_notifications=False, display_at=at,
            )  # fmt: skip
        StatusPageIncident.objects.filter(pk=incident.pk).update(
            status="resolved", resolved_at=end, created_at=start
        )
        # Linked once resolved, so replaying the timeline never turned the component red now.
        StatusPageIncidentComponent.objects.create(
            organization=organization, status_page_incident=incident, component=component,
            status=status,
        )  # fmt: skip
    ComponentStatusHistory.objects.bulk_create(history)
    schedule_maintenance(
        page,
        name="Database upgrade to PostgreSQL 17",
        description="The API may be read-only for up to 10 minutes.",
        scheduled_start=(now + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
        scheduled_end=(now + dt.timedelta(days=3, hours=1)).replace(
            minute=0, second=0, microsecond=0
        ),
        components=[components["Database"], components["API"]],
        deliver_notifications=False,
    )
    calculate_uptime(status_page=page)
    return page
