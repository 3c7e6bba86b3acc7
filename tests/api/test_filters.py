"""Filters of the list endpoints: each narrows the list, refuses a bad value with a 400
naming the parameter (never an unfiltered list), and never reaches another organization."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.models import OrganizationMember, TeamGroup
from accounts.roles import Role
from incidents.models import OnCallSchedule
from monitoring.models import MonitoringLocation
from statuspages.models import StatusPage
from tests.incidents.factories import member, policy, service

pytestmark = pytest.mark.django_db


def listed(api, url: str, key: str = "name", **params) -> list:
    response = api.get(url, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    items = body["results"] if isinstance(body, dict) else body
    return [item[key] for item in items]


def assert_refused(api, url: str, field: str, **params) -> None:
    """400 in the API's error envelope, naming ``field``, with a message."""
    response = api.get(url, **params)
    assert response.status_code == 400, (params, response.content)
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field] and error["fields"][field][0]
    assert error["message"] == error["fields"][field][0]


def test_service_filters(api, world_a, world_b):
    org = world_a.organization
    team_policy = policy(org, [[world_a.team]], name="Team policy")
    service(org, team_policy, name="Billing")
    service(org, None, name="Legacy web", status="disabled")
    url = "/api/v1/services/"

    assert listed(api, url) == ["Billing", "Legacy web", "Service a"]
    assert listed(api, url, status="disabled") == ["Legacy web"]
    assert listed(api, url, status=["active", "disabled"]) == ["Billing", "Legacy web", "Service a"]
    assert listed(api, url, escalation_policy=str(world_a.policy.pk)) == ["Service a"]
    # Billing's policy pages the team; Service a's pages a schedule its member is on.
    assert listed(api, url, team=str(world_a.team.pk)) == ["Billing", "Service a"]
    lonely = TeamGroup.objects.create(organization=org, name="Lonely")
    assert listed(api, url, team=str(lonely.pk)) == []
    assert listed(api, url, name="BILL") == ["Billing"]
    assert listed(api, url, name="service") == ["Service a"]  # not org B's "Service b"

    assert listed(api, url, team=str(world_b.team.pk)) == []
    assert listed(api, url, escalation_policy=str(world_b.policy.pk)) == []
    assert_refused(api, url, "status", status="paused")
    assert_refused(api, url, "escalation_policy", escalation_policy="not-a-uuid")
    assert_refused(api, url, "team", team="42")


def test_escalation_policy_filter(api, world_a, world_b):
    policy(world_a.organization, [[world_a.person]], name="Databases")
    url = "/api/v1/escalation-policies/"
    assert listed(api, url) == ["Databases", "Policy a"]
    assert listed(api, url, name="base") == ["Databases"]
    assert listed(api, url, name="policy") == ["Policy a"]  # not org B's "Policy b"
    assert listed(api, url, name="nothing like it") == []


def test_schedule_filters(api, world_a, world_b):
    OnCallSchedule.objects.create(
        organization=world_a.organization, name="Follow the sun", time_zone="Asia/Tokyo"
    )
    url = "/api/v1/schedules/"
    assert listed(api, url) == ["Follow the sun", "Schedule a"]
    assert listed(api, url, name="SUN") == ["Follow the sun"]
    assert listed(api, url, name="schedule") == ["Schedule a"]  # not org B's
    assert listed(api, url, time_zone="Asia/Tokyo") == ["Follow the sun"]
    assert listed(api, url, time_zone="Europe/Berlin") == []
    assert listed(api, url, team=str(world_a.team.pk)) == ["Schedule a"]
    assert listed(api, url, team=str(world_b.team.pk)) == []
    assert_refused(api, url, "time_zone", time_zone="Mars/Olympus")
    assert_refused(api, url, "team", team="team-a")


def test_user_filters(api, world_a, world_b, admin_a):
    # Admin of B, viewer of A: A's role filter must read A's membership only.
    both = member(world_b.organization, "both@example.com", role=Role.ADMIN)
    OrganizationMember.objects.create(
        organization=world_a.organization, user=both, role=Role.VIEWER
    )
    world_a.person.is_active = False
    world_a.person.save(update_fields=["is_active"])
    url = "/api/v1/users/"

    assert listed(api, url, key="email") == [
        "admin-a@example.com",
        "both@example.com",
        "oncall-a@example.com",
    ]
    assert listed(api, url, key="email", role="admin") == ["admin-a@example.com"]
    assert listed(api, url, key="role", role="viewer") == ["viewer"]
    assert listed(api, url, key="email", role=["viewer", "responder"]) == [
        "both@example.com",
        "oncall-a@example.com",
    ]
    assert listed(api, url, key="email", email="ADMIN-A@example.com") == ["admin-a@example.com"]
    assert listed(api, url, key="email", email="oncall-b@example.com") == []  # B's member
    assert listed(api, url, key="email", is_active="false") == ["oncall-a@example.com"]
    assert listed(api, url, key="is_active", is_active="true") == [True, True]
    assert_refused(api, url, "role", role="nonexistent")
    assert_refused(api, url, "is_active", is_active="maybe")


def test_team_filter(api, world_a, world_b):
    TeamGroup.objects.create(organization=world_a.organization, name="Databases")
    url = "/api/v1/teams/"
    assert listed(api, url) == ["Databases", "Team a"]
    assert listed(api, url, name="TEAM") == ["Team a"]  # not org B's "Team b"
    assert listed(api, url, name="data") == ["Databases"]


def test_status_page_filters(api, full_world_a, full_world_b):
    StatusPage.objects.create(
        organization=full_world_a.organization, name="Internal", slug="internal", is_public=False
    )
    url = "/api/v1/status-pages/"
    assert listed(api, url) == ["Internal", "Page a"]
    assert listed(api, url, is_public="false") == ["Internal"]
    assert listed(api, url, is_public="true") == ["Page a"]
    assert listed(api, url, slug="PAGE-A") == ["Page a"]
    assert listed(api, url, slug="page-b") == []  # org B's page
    assert_refused(api, url, "is_public", is_public="sometimes")


def test_monitoring_location_filters(api, world_a):
    MonitoringLocation.objects.filter(code="ap-south").update(is_active=False)
    url = "/api/v1/monitoring-locations/"
    assert listed(api, url, key="code") == ["ap-south", "eu-west", "us-east"]
    assert listed(api, url, key="code", is_active="true") == ["eu-west", "us-east"]
    assert listed(api, url, key="is_active", is_active="false") == [False]
    assert listed(api, url, key="code", region="EUROPE") == ["eu-west"]
    assert listed(api, url, key="code", region="antarctica") == []
    assert_refused(api, url, "is_active", is_active="yes please")


def test_existing_boolean_filters_refuse_what_they_cannot_read(api, full_world_a):
    assert listed(api, "/api/v1/checks/", is_paused="false") == ["Check a"]
    assert_refused(api, "/api/v1/checks/", "is_paused", is_paused="maybe")
    assert_refused(api, "/api/v1/status-page-incidents/", "unresolved", unresolved="perhaps")


def test_filter_parameters_are_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    expected = {
        "/api/v1/services/": {"status", "escalation_policy", "team", "name"},
        "/api/v1/escalation-policies/": {"name"},
        "/api/v1/schedules/": {"name", "time_zone", "team"},
        "/api/v1/users/": {"role", "email", "is_active"},
        "/api/v1/teams/": {"name"},
        "/api/v1/status-pages/": {"is_public", "slug"},
        "/api/v1/monitoring-locations/": {"is_active", "region"},
    }
    for path, names in expected.items():
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert names <= set(parameters), path
    users = {p["name"]: p for p in schema["paths"]["/api/v1/users/"]["get"]["parameters"]}
    assert users["is_active"]["schema"]["type"] == "boolean"
    assert users["role"]["schema"]["items"]["enum"] == ["admin", "manager", "responder", "viewer"]
    services = {p["name"]: p for p in schema["paths"]["/api/v1/services/"]["get"]["parameters"]}
    assert services["team"]["schema"] == {"type": "string", "format": "uuid"}
