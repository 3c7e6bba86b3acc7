"""Statuspage v2-compatible JSON: field names, enums and nesting of every endpoint."""

import datetime as dt

import pytest
from django.utils import timezone

from statuspages import services

PAGE_KEYS = {"id", "name", "url", "time_zone", "updated_at"}
COMPONENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "position", "description",
    "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
}  # fmt: skip
INCIDENT_KEYS = {
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
    "impact", "shortlink", "started_at", "page_id", "incident_updates", "components",
}  # fmt: skip
UPDATE_KEYS = {
    "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
    "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
}  # fmt: skip
MAINTENANCE_KEYS = INCIDENT_KEYS | {"scheduled_for", "scheduled_until"}
COMPONENT_STATUSES = {
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance",
}  # fmt: skip
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}


@pytest.fixture
def populated(setup_a):
    published = services.publish_incident(
        None, setup_a.page, name="Errors", message="Investigating", impact="major",
        components={setup_a.api: "partial_outage"},
    )  # fmt: skip
    services.post_update(published, status="monitoring", message="Fixed")
    old = services.publish_incident(None, setup_a.page, name="Old", message="x", impact="minor")
    services.post_update(old, status="resolved", message="done")
    now = timezone.now()
    active = services.schedule_maintenance(
        setup_a.page, name="Now", scheduled_start=now - dt.timedelta(minutes=1),
        scheduled_end=now + dt.timedelta(hours=1), components=[setup_a.db],
    )  # fmt: skip
    services.set_maintenance_status(active, "in_progress")
    services.schedule_maintenance(
        setup_a.page, name="Later", scheduled_start=now + dt.timedelta(days=1),
        scheduled_end=now + dt.timedelta(days=1, hours=2),
    )  # fmt: skip
    return setup_a


def get(client, setup, endpoint):
    response = client.get(f"/status/{setup.page.slug}/api/v2/{endpoint}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert set(data["page"]) == PAGE_KEYS
    assert data["page"]["id"] == str(setup.page.pk)
    return data


def check_component(component):
    assert set(component) >= COMPONENT_KEYS
    assert component["status"] in COMPONENT_STATUSES
    if component["group"]:
        assert isinstance(component["components"], list)


def check_incident(incident, keys=INCIDENT_KEYS):
    assert set(incident) == keys
    assert incident["impact"] in {"none", "minor", "major", "critical", "maintenance"}
    for update in incident["incident_updates"]:
        assert set(update) == UPDATE_KEYS
        assert update["incident_id"] == incident["id"]
    for component in incident["components"]:
        check_component(component)


def test_summary(client, populated):
    data = get(client, populated, "summary.json")
    assert set(data) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert set(data["status"]) == {"indicator", "description"}
    assert data["status"]["indicator"] == "major"
    assert data["status"]["description"] == "Partial System Outage"
    for component in data["components"]:
        check_component(component)
    group = next(c for c in data["components"] if c["group"])
    assert set(group["components"]) == {str(populated.api.pk), str(populated.web.pk)}
    api = next(c for c in data["components"] if c["id"] == str(populated.api.pk))
    assert api["group_id"] == group["id"] and api["status"] == "partial_outage"
    assert [i["name"] for i in data["incidents"]] == ["Errors"]
    check_incident(data["incidents"][0])
    assert data["incidents"][0]["status"] == "monitoring"
    assert data["incidents"][0]["monitoring_at"] is not None
    assert [u["status"] for u in data["incidents"][0]["incident_updates"]] == [
        "monitoring", "investigating",
    ]  # fmt: skip
    assert {m["name"] for m in data["scheduled_maintenances"]} == {"Now", "Later"}
    for maintenance in data["scheduled_maintenances"]:
        check_incident(maintenance, MAINTENANCE_KEYS)


def test_status(client, populated):
    data = get(client, populated, "status.json")
    assert set(data) == {"page", "status"}
    assert data["status"]["indicator"] in INDICATORS


def test_status_when_all_is_well(client, setup_a):
    data = get(client, setup_a, "status.json")
    assert data["status"] == {"indicator": "none", "description": "All Systems Operational"}


def test_components(client, populated):
    data = get(client, populated, "components.json")
    assert set(data) == {"page", "components"}
    assert len(data["components"]) == 4  # three components and one group
    for component in data["components"]:
        check_component(component)


def test_incidents_and_unresolved(client, populated):
    data = get(client, populated, "incidents.json")
    assert set(data) == {"page", "incidents"}
    assert {i["name"] for i in data["incidents"]} == {"Errors", "Old"}
    for incident in data["incidents"]:
        check_incident(incident)
    resolved = next(i for i in data["incidents"] if i["name"] == "Old")
    assert resolved["status"] == "resolved" and resolved["resolved_at"]
    assert resolved["shortlink"].endswith(f"/incidents/{resolved['id']}/")
    unresolved = get(client, populated, "incidents/unresolved.json")
    assert [i["name"] for i in unresolved["incidents"]] == ["Errors"]


@pytest.mark.parametrize(
    ("endpoint", "names", "statuses"),
    [
        ("scheduled-maintenances.json", {"Now", "Later"}, {"in_progress", "scheduled"}),
        ("scheduled-maintenances/upcoming.json", {"Later"}, {"scheduled"}),
        ("scheduled-maintenances/active.json", {"Now"}, {"in_progress"}),
    ],
)
def test_scheduled_maintenances(client, populated, endpoint, names, statuses):
    data = get(client, populated, endpoint)
    assert set(data) == {"page", "scheduled_maintenances"}
    assert {m["name"] for m in data["scheduled_maintenances"]} == names
    assert {m["status"] for m in data["scheduled_maintenances"]} == statuses
    for maintenance in data["scheduled_maintenances"]:
        check_incident(maintenance, MAINTENANCE_KEYS)
        assert maintenance["impact"] == "maintenance"
        assert maintenance["scheduled_for"] < maintenance["scheduled_until"]


def test_unknown_endpoint_is_404(client, setup_a):
    assert client.get(f"/status/{setup_a.page.slug}/api/v2/nope.json").status_code == 404
