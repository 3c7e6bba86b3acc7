"""A key of organization A never sees or touches organization B: every endpoint."""

from __future__ import annotations

import json

import pytest

from incidents.models import EscalationPolicy, Incident, OnCallSchedule, Service

pytestmark = pytest.mark.django_db

LISTS = [
    "/api/v1/incidents/",
    "/api/v1/services/",
    "/api/v1/escalation-policies/",
    "/api/v1/schedules/",
    "/api/v1/users/",
    "/api/v1/teams/",
]

# (method, URL template, body) for every object endpoint; {x} are B's objects.
OBJECT_ENDPOINTS = [
    ("get", "/api/v1/incidents/{incident}/", None),
    ("post", "/api/v1/incidents/{incident}/acknowledge/", None),
    ("post", "/api/v1/incidents/{incident}/resolve/", None),
    ("get", "/api/v1/incidents/{incident}/notes/", None),
    ("post", "/api/v1/incidents/{incident}/notes/", {"message": "hello"}),
    ("get", "/api/v1/incidents/{incident}/timeline/", None),
    ("get", "/api/v1/services/{service}/", None),
    ("patch", "/api/v1/services/{service}/", {"name": "hijacked"}),
    ("put", "/api/v1/services/{service}/", {"name": "hijacked"}),
    ("delete", "/api/v1/services/{service}/", None),
    ("get", "/api/v1/services/{service}/integrations/", None),
    ("post", "/api/v1/services/{service}/integrations/", {"name": "planted"}),
    ("get", "/api/v1/escalation-policies/{policy}/", None),
    ("patch", "/api/v1/escalation-policies/{policy}/", {"name": "hijacked"}),
    ("put", "/api/v1/escalation-policies/{policy}/", {"name": "hijacked"}),
    ("delete", "/api/v1/escalation-policies/{policy}/", None),
    ("get", "/api/v1/schedules/{schedule}/", None),
    ("patch", "/api/v1/schedules/{schedule}/", {"name": "hijacked"}),
    ("put", "/api/v1/schedules/{schedule}/", {"name": "hijacked", "time_zone": "UTC"}),
    ("delete", "/api/v1/schedules/{schedule}/", None),
    ("get", "/api/v1/schedules/{schedule}/on-call-now/", None),
    (
        "get",
        "/api/v1/schedules/{schedule}/shifts/?since=2026-01-01T00:00Z&until=2026-01-02T00:00Z",
        None,
    ),
    ("get", "/api/v1/users/{person}/", None),
    ("get", "/api/v1/teams/{team}/", None),
]


def _ids(world) -> dict[str, str]:
    return {
        name: str(getattr(world, name).pk)
        for name in ("incident", "service", "policy", "schedule", "person", "team")
    }


@pytest.mark.parametrize("url", LISTS)
def test_lists_never_show_the_other_organization(api, world_a, world_b, url):
    body = json.dumps(api.get(url).json())
    for value in _ids(world_b).values():
        assert value not in body
    for text in (
        "Incident b",
        "Service b",
        "Policy b",
        "Schedule b",
        "oncall-b",
        "Team b",
        world_b.integration.integration_key,
    ):
        assert text not in body
    assert api.get(url).json()["results"], "A's own rows are listed"


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ENDPOINTS)
def test_objects_of_the_other_organization_are_404(api, world_a, world_b, method, template, body):
    url = template.format(**_ids(world_b))
    call = getattr(api, method)
    response = call(url, body) if method in ("post", "patch", "put") else call(url)
    assert response.status_code == 404, (url, response.content)
    assert response.json()["error"]["code"] == "not_found"
    # The same request on A's own object is not a 404: the 404 is about B, not the route.
    own = getattr(api, method)
    own_url = template.format(**_ids(world_a))
    if method != "delete":
        own_response = own(own_url, body) if method in ("post", "patch", "put") else own(own_url)
        assert own_response.status_code != 404


def test_b_is_untouched_after_every_attempt(api, world_a, world_b):
    for method, template, body in OBJECT_ENDPOINTS:
        url = template.format(**_ids(world_b))
        call = getattr(api, method)
        call(url, body) if method in ("post", "patch", "put") else call(url)
    world_b.incident.refresh_from_db()
    assert world_b.incident.status == "triggered"
    assert world_b.incident.updates.filter(update_type="note").count() == 1
    assert Service.objects.filter(pk=world_b.service.pk, name="Service b").exists()
    assert world_b.service.integrations.count() == 1
    assert EscalationPolicy.objects.filter(pk=world_b.policy.pk, name="Policy b").exists()
    assert OnCallSchedule.objects.filter(pk=world_b.schedule.pk, name="Schedule b").exists()


def test_cannot_create_in_a_with_references_to_b(api, world_a, world_b):
    incident = api.post("/api/v1/incidents/", {"service": str(world_b.service.pk), "title": "x"})
    assert incident.status_code == 400 and "service" in incident.json()["error"]["fields"]
    service = api.post(
        "/api/v1/services/", {"name": "S", "escalation_policy": str(world_b.policy.pk)}
    )
    assert service.status_code == 400
    rules = [
        {"delay_minutes": 5, "targets": [{"type": kind, "id": str(getattr(world_b, attr).pk)}]}
        for kind, attr in (("user", "person"), ("schedule", "schedule"), ("team", "team"))
    ]
    for rule in rules:
        response = api.post("/api/v1/escalation-policies/", {"name": "P", "rules": [rule]})
        assert response.status_code == 400, rule
    assert not Incident.objects.filter(service=world_b.service, title="x").exists()


def test_filter_by_the_other_organizations_service_is_empty(api, world_a, world_b):
    response = api.get("/api/v1/incidents/", service=str(world_b.service.pk))
    assert response.status_code == 200 and response.json()["results"] == []


def test_session_of_a_member_of_a_sees_only_a(client, admin_a, world_a, world_b):
    client.force_login(admin_a)
    body = json.dumps(client.get("/api/v1/incidents/").json())
    assert "Incident a" in body and "Incident b" not in body
    assert client.get(f"/api/v1/incidents/{world_b.incident.pk}/").status_code == 404
