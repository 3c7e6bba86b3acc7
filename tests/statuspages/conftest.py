"""Fixtures for status-page tests: two organizations, each with a page, components, services.

Real PostgreSQL (triggers, RLS) and Redis (cache); nothing mocked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.db import connection

from accounts.models import Organization
from incidents.models import Service
from statuspages.models import Component, ComponentGroup, ComponentService, StatusPage


@dataclass
class PageSetup:
    organization: Organization
    page: StatusPage
    api: Component
    web: Component
    db: Component
    api_service: Service
    web_service: Service


def build_page(organization: Organization, slug: str, **fields) -> PageSetup:
    page = StatusPage.objects.create(
        organization=organization, name=fields.pop("name", slug.title()), slug=slug, **fields
    )
    core = ComponentGroup.objects.create(organization=organization, status_page=page, name="Core")
    api_service = Service.objects.create(organization=organization, name=f"{slug} API")
    web_service = Service.objects.create(organization=organization, name=f"{slug} Web")

    def component(name: str, position: int, group=None, services=()) -> Component:
        created = Component.objects.create(
            organization=organization, status_page=page, name=name, position=position, group=group
        )
        for service in services:
            ComponentService.objects.create(
                organization=organization, component=created, service=service
            )
        return created

    api = component(f"{slug} API", 0, core, [api_service])
    # The web app depends on both services.
    web = component(f"{slug} Web app", 1, core, [api_service, web_service])
    db = component(f"{slug} Database", 2)
    return PageSetup(organization, page, api, web, db, api_service, web_service)


@pytest.fixture
def setup_a(org_a) -> PageSetup:
    return build_page(org_a, f"acme-{uuid.uuid4().hex[:6]}", name="Acme")


@pytest.fixture
def setup_b(org_b) -> PageSetup:
    return build_page(org_b, f"globex-{uuid.uuid4().hex[:6]}", name="Globex")


def open_incident_sql(service: Service, severity: str, title: str = "Boom") -> uuid.UUID:
    """Open an incident the way raw SQL writers (the seed, monitoring) do."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents (organization_id, service_id, title, severity)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            [service.organization_id, service.pk, title, severity],
        )
        return cursor.fetchone()[0]


def resolve_incident_sql(incident_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE incidents SET status = 'resolved' WHERE id = %s", [incident_id])


def statuses(*components: Component) -> list[str]:
    for component in components:
        component.refresh_from_db()
    return [c.status for c in components]


def age_page(setup: PageSetup, hours: int = 30) -> None:
    """Pretend the page's components have existed for ``hours`` (a test is one transaction,
    so rows created in it have existed for no time at all, and uptime has no data)."""
    import datetime as dt

    from django.utils import timezone

    from statuspages.models import ComponentStatusHistory

    then = timezone.now() - dt.timedelta(hours=hours)
    ComponentStatusHistory.objects.filter(status_page=setup.page).update(changed_at=then)
    Component.objects.filter(status_page=setup.page).update(created_at=then)


@pytest.fixture(autouse=True)
def _no_process_shortcuts(settings):
    """Tests read their own writes at once: no one-second reuse of lookups or view batches."""
    settings.STATUSPAGES_VERSION_TTL = 0
    settings.STATUSPAGES_VIEW_COUNT_SECONDS = 0
