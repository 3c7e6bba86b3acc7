"""Two organizations with a bit of everything, and API keys for them (real rows, no mocks)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from accounts.api.keys import create_api_key
from accounts.models import ApiKey, Organization, TeamGroup, TeamMembership
from incidents import lifecycle
from incidents.models import (
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ServiceIntegration,
)
from monitoring.engine import record_results
from statuspages import services as statuspages_services
from statuspages.models import Component, ComponentGroup, StatusPage
from statuspages.subscriptions import subscribe
from tests.incidents.factories import member, policy, service
from tests.monitoring.factories import location, make_check, result


class Api:
    """A test client that sends an API key, and JSON bodies."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def get(self, url: str, **params):
        return self.client.get(url, params, headers=self.headers)

    def post(self, url: str, data=None, **headers):
        return self.client.post(
            url, data or {}, content_type="application/json", headers={**self.headers, **headers}
        )

    def patch(self, url: str, data):
        return self.client.patch(url, data, content_type="application/json", headers=self.headers)

    def put(self, url: str, data):
        return self.client.put(url, data, content_type="application/json", headers=self.headers)

    def delete(self, url: str):
        return self.client.delete(url, headers=self.headers)


def build_world(organization: Organization, tag: str) -> SimpleNamespace:
    """A responder, a team, a schedule, a policy, a service with an integration, an incident."""
    person = member(organization, f"oncall-{tag}@example.com")
    team = TeamGroup.objects.create(organization=organization, name=f"Team {tag}")
    TeamMembership.objects.create(organization=organization, team=team, user=person)
    schedule = OnCallSchedule.objects.create(organization=organization, name=f"Schedule {tag}")
    layer = ScheduleLayer.objects.create(
        organization=organization,
        schedule=schedule,
        rotation_unit="days",
        rotation_length=1,
        rotation_start=timezone.now() - dt.timedelta(days=3),
    )
    ScheduleLayerMember.objects.create(organization=organization, layer=layer, user=person)
    escalation = policy(organization, [[person], [schedule]], name=f"Policy {tag}")
    svc = service(organization, escalation, name=f"Service {tag}")
    integration = ServiceIntegration.objects.create(organization=organization, service=svc)
    incident = lifecycle.open_incident(svc, f"Incident {tag}", dedup_key=f"dedup-{tag}").incident
    note = lifecycle.add_note(incident, person, f"Note {tag}")
    return SimpleNamespace(
        organization=organization,
        person=person,
        team=team,
        schedule=schedule,
        policy=escalation,
        service=svc,
        integration=integration,
        incident=incident,
        note=note,
    )


def add_monitoring_and_pages(world: SimpleNamespace, tag: str) -> SimpleNamespace:
    """Adds a check with a result, and a status page with a group, a component, a published
    incident, a maintenance window and a subscriber (only the tests that need them pay)."""
    check = make_check(
        world.organization,
        f"Check {tag}",
        config={"url": f"http://127.0.0.1:9/{tag}"},
        locations=("us-east", "eu-west"),
        service=world.service,
    )
    record_results([(check.pk, location("us-east").pk, result("down", f"refused {tag}"))])
    page = StatusPage.objects.create(
        organization=world.organization, name=f"Page {tag}", slug=f"page-{tag}"
    )
    group = ComponentGroup.objects.create(
        organization=world.organization, status_page=page, name=f"Group {tag}"
    )
    component = Component.objects.create(
        organization=world.organization, status_page=page, group=group, name=f"Component {tag}"
    )
    published = statuspages_services.publish_incident(
        None,
        page,
        name=f"Outage {tag}",
        message=f"Looking into it {tag}",
        components={component.pk: "major_outage"},
    )
    window = statuspages_services.schedule_maintenance(
        page,
        name=f"Maintenance {tag}",
        scheduled_start=timezone.now() + dt.timedelta(days=1),
        scheduled_end=timezone.now() + dt.timedelta(days=1, hours=1),
        components=[component],
    )
    subscriber = subscribe(
        page, "webhook", f"https://hooks.example.com/subscriber-{tag}"
    ).subscriber
    world.__dict__.update(
        check=check,
        page=page,
        group=group,
        component=component,
        published=published,
        window=window,
        subscriber=subscriber,
    )
    return world


@pytest.fixture
def world_a(org_a) -> SimpleNamespace:
    return build_world(org_a, "a")


@pytest.fixture
def world_b(org_b) -> SimpleNamespace:
    return build_world(org_b, "b")


@pytest.fixture
def full_world_a(world_a) -> SimpleNamespace:
    return add_monitoring_and_pages(world_a, "a")


@pytest.fixture
def full_world_b(world_b) -> SimpleNamespace:
    return add_monitoring_and_pages(world_b, "b")


@pytest.fixture
def key_a(org_a) -> str:
    return create_api_key(org_a, "A read-write", scope=ApiKey.Scope.WRITE).secret


@pytest.fixture
def read_key_a(org_a) -> str:
    return create_api_key(org_a, "A read-only", scope=ApiKey.Scope.READ).secret


@pytest.fixture
def api(key_a) -> Api:
    return Api(key_a)


@pytest.fixture
def read_api(read_key_a) -> Api:
    return Api(read_key_a)
