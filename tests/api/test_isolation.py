"""A key of organization A never sees or touches organization B: every endpoint."""

from __future__ import annotations

import json

import pytest

from incidents.models import EscalationPolicy, Incident, OnCallSchedule, Service
from monitoring.models import CheckResult, MonitoringCheck
from statuspages.models import (
    Component,
    ComponentGroup,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    Subscriber,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world_a(full_world_a):
    """Every test here sees each organization's incidents, checks and status pages."""
    return full_world_a


@pytest.fixture
def world_b(full_world_b):
    return full_world_b


LISTS = [
    "/api/v1/incidents/",
    "/api/v1/services/",
    "/api/v1/escalation-policies/",
    "/api/v1/schedules/",
    "/api/v1/users/",
    "/api/v1/teams/",
    "/api/v1/checks/",
    "/api/v1/status-pages/",
    "/api/v1/component-groups/",
    "/api/v1/components/",
    "/api/v1/status-page-incidents/",
    "/api/v1/maintenance-windows/",
    "/api/v1/subscribers/",
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
    ("get", "/api/v1/checks/{check}/", None),
    ("patch", "/api/v1/checks/{check}/", {"name": "hijacked"}),
    (
        "put",
        "/api/v1/checks/{check}/",
        {"name": "hijacked", "check_type": "http", "config": {"url": "https://example.com/"}},
    ),
    ("delete", "/api/v1/checks/{check}/", None),
    ("post", "/api/v1/checks/{check}/pause/", None),
    ("post", "/api/v1/checks/{check}/resume/", None),
    ("post", "/api/v1/checks/{check}/run-now/", None),
    ("get", "/api/v1/checks/{check}/results/", None),
    ("get", "/api/v1/checks/{check}/statistics/", None),
    ("get", "/api/v1/status-pages/{page}/", None),
    ("patch", "/api/v1/status-pages/{page}/", {"name": "hijacked"}),
    ("put", "/api/v1/status-pages/{page}/", {"name": "hijacked", "slug": "hijacked"}),
    ("delete", "/api/v1/status-pages/{page}/", None),
    ("get", "/api/v1/component-groups/{group}/", None),
    ("patch", "/api/v1/component-groups/{group}/", {"name": "hijacked"}),
    ("put", "/api/v1/component-groups/{group}/", {"name": "hijacked"}),
    ("delete", "/api/v1/component-groups/{group}/", None),
    ("get", "/api/v1/components/{component}/", None),
    ("patch", "/api/v1/components/{component}/", {"status": "operational"}),
    ("put", "/api/v1/components/{component}/", {"name": "hijacked"}),
    ("delete", "/api/v1/components/{component}/", None),
    ("get", "/api/v1/status-page-incidents/{published}/", None),
    ("patch", "/api/v1/status-page-incidents/{published}/", {"name": "hijacked"}),
    ("put", "/api/v1/status-page-incidents/{published}/", {"name": "hijacked"}),
    ("delete", "/api/v1/status-page-incidents/{published}/", None),
    ("get", "/api/v1/status-page-incidents/{published}/updates/", None),
    (
        "post",
        "/api/v1/status-page-incidents/{published}/updates/",
        {"status": "resolved", "body": "hijacked"},
    ),
    ("get", "/api/v1/maintenance-windows/{window}/", None),
    ("patch", "/api/v1/maintenance-windows/{window}/", {"status": "in_progress"}),
    ("put", "/api/v1/maintenance-windows/{window}/", {"name": "hijacked"}),
    ("delete", "/api/v1/maintenance-windows/{window}/", None),
    ("get", "/api/v1/subscribers/{subscriber}/", None),
    ("delete", "/api/v1/subscribers/{subscriber}/", None),
]

NAMES = ("incident", "service", "policy", "schedule", "person", "team")
NAMES += ("check", "page", "group", "component", "published", "window", "subscriber")


def _ids(world) -> dict[str, str]:
    return {name: str(getattr(world, name).pk) for name in NAMES}


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
        "Check b",
        "Page b",
        "Group b",
        "Component b",
        "Outage b",
        "Looking into it b",
        "Maintenance b",
        "subscriber-b",
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
    check = MonitoringCheck.objects.get(pk=world_b.check.pk)
    assert (check.name, check.is_paused, check.last_reason) == ("Check b", False, "refused b")
    assert CheckResult.objects.filter(monitor=check).count() == 1
    assert StatusPage.objects.filter(pk=world_b.page.pk, name="Page b").exists()
    assert ComponentGroup.objects.filter(pk=world_b.group.pk, name="Group b").exists()
    component = Component.objects.get(pk=world_b.component.pk)
    assert (component.name, component.status) == ("Component b", "major_outage")
    published = StatusPageIncident.objects.get(pk=world_b.published.pk)
    assert (published.name, published.status) == ("Outage b", "investigating")
    assert published.updates.count() == 1
    window = MaintenanceWindow.objects.get(pk=world_b.window.pk)
    assert (window.name, window.status) == ("Maintenance b", "scheduled")
    assert Subscriber.objects.get(pk=world_b.subscriber.pk).unsubscribed_at is None


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


def test_cannot_reach_b_through_references_in_monitoring_and_status_pages(api, world_a, world_b):
    b = {name: str(getattr(world_b, name).pk) for name in NAMES}
    a_page, a_component = str(world_a.page.pk), str(world_a.component.pk)
    attempts = [
        (
            "/api/v1/checks/",
            {"name": "C", "check_type": "http", "config": {"url": "https://example.com/"},
             "service": b["service"]},
            "service",
        ),
        ("/api/v1/component-groups/", {"status_page": b["page"], "name": "G"}, "status_page"),
        ("/api/v1/components/", {"status_page": b["page"], "name": "X"}, "status_page"),
        ("/api/v1/components/", {"status_page": a_page, "name": "X", "group": b["group"]}, "group"),
        (
            "/api/v1/components/",
            {"status_page": a_page, "name": "X", "services": [b["service"]]},
            "services",
        ),
        (
            "/api/v1/components/",
            {"status_page": a_page, "name": "X", "monitoring_check": b["check"]},
            "monitoring_check",
        ),
        (
            "/api/v1/status-page-incidents/",
            {"status_page": b["page"], "name": "X", "body": "x"},
            "status_page",
        ),
        (
            "/api/v1/status-page-incidents/",
            {"status_page": a_page, "name": "X", "body": "x",
             "components": {b["component"]: "major_outage"}},
            "components",
        ),
        (
            "/api/v1/status-page-incidents/",
            {"status_page": a_page, "body": "x", "incident": str(world_b.incident.pk)},
            "incident",
        ),
        (
            "/api/v1/maintenance-windows/",
            {"status_page": b["page"], "name": "M", "scheduled_start": "2030-01-01T00:00Z",
             "scheduled_end": "2030-01-01T01:00Z"},
            "status_page",
        ),
        (
            "/api/v1/maintenance-windows/",
            {"status_page": a_page, "name": "M", "scheduled_start": "2030-01-01T00:00Z",
             "scheduled_end": "2030-01-01T01:00Z", "components": [b["component"]]},
            "components",
        ),
        (
            "/api/v1/subscribers/",
            {"status_page": b["page"], "channel": "webhook", "target": "https://x.example/"},
            "status_page",
        ),
        (
            "/api/v1/subscribers/",
            {"status_page": a_page, "channel": "webhook", "target": "https://x.example/",
             "components": [b["component"]]},
            "components",
        ),
        (
            f"/api/v1/status-page-incidents/{world_a.published.pk}/updates/",
            {"status": "identified", "body": "x", "components": {b["component"]: "operational"}},
            "components",
        ),
    ]  # fmt: skip
    for url, body, field in attempts:
        response = api.post(url, body)
        assert response.status_code == 400, (url, body, response.content)
        assert field in response.json()["error"]["fields"], (url, response.json())
    assert api.patch(f"/api/v1/components/{a_component}/", {"group": b["group"]}).status_code == 400
    moved = api.patch(f"/api/v1/components/{a_component}/", {"status_page": b["page"]})
    assert moved.status_code == 400
    assert Component.objects.filter(status_page=world_b.page).count() == 1
    assert world_b.published.updates.count() == 1
    for url in (
        "/api/v1/components/",
        "/api/v1/component-groups/",
        "/api/v1/status-page-incidents/",
        "/api/v1/maintenance-windows/",
        "/api/v1/subscribers/",
    ):
        response = api.get(url, status_page=b["page"])
        assert response.status_code == 200 and response.json()["results"] == [], url
    assert api.get("/api/v1/checks/", service=b["service"]).json()["results"] == []


def test_filter_by_the_other_organizations_service_is_empty(api, world_a, world_b):
    response = api.get("/api/v1/incidents/", service=str(world_b.service.pk))
    assert response.status_code == 200 and response.json()["results"] == []


def test_session_of_a_member_of_a_sees_only_a(client, admin_a, world_a, world_b):
    client.force_login(admin_a)
    body = json.dumps(client.get("/api/v1/incidents/").json())
    assert "Incident a" in body and "Incident b" not in body
    assert client.get(f"/api/v1/incidents/{world_b.incident.pk}/").status_code == 404


def test_run_now_on_b_neither_runs_nor_spends_bs_limits(api, world_a, world_b, monkeypatch):
    from monitoring import on_demand

    monkeypatch.setattr(on_demand, "ORGANIZATION_RUNS", 1)
    for _ in range(3):
        assert api.post(f"/api/v1/checks/{world_b.check.pk}/run-now/").status_code == 404
    on_demand.claim_run_now(world_b.check)  # B's cooldown and budget are untouched
    assert CheckResult.objects.filter(monitor=world_b.check).count() == 1


def test_a_masked_header_never_pulls_bs_secret(api, world_a, world_b):
    from monitoring.checks.secrets import MASK

    MonitoringCheck.objects.filter(pk=world_b.check.pk).update(
        config={"url": "http://127.0.0.1:9/b", "headers": {"Authorization": "Bearer b-secret"}}
    )
    config = {"url": "http://127.0.0.1:9/a", "headers": {"Authorization": MASK}}
    response = api.patch(f"/api/v1/checks/{world_a.check.pk}/", {"config": config})
    assert response.status_code == 400
    assert "b-secret" not in str(MonitoringCheck.objects.get(pk=world_a.check.pk).config)
