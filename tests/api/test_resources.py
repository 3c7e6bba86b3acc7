"""Every REST endpoint's happy path, pagination and filters, with an API key of org A."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents import lifecycle
from incidents.models import EscalationPolicy, Incident, IncidentUpdate, Service

pytestmark = pytest.mark.django_db


def test_incident_list_and_retrieve(api, world_a):
    body = api.get("/api/v1/incidents/").json()
    assert [item["id"] for item in body["results"]] == [str(world_a.incident.pk)]
    assert body["next"] is None
    detail = api.get(f"/api/v1/incidents/{world_a.incident.pk}/").json()
    assert detail["title"] == "Incident a" and detail["status"] == "triggered"
    assert detail["service"] == str(world_a.service.pk)


def test_create_incident_and_dedup(api, world_a, admin_a):
    body = {
        "service": str(world_a.service.pk),
        "title": "Disk full",
        "severity": "critical",
        "dedup_key": "disk",
        "details": {"host": "db1"},
    }
    created = api.post("/api/v1/incidents/", body, From="admin-a@example.com")
    assert created.status_code == 201
    data = created.json()
    assert data["severity"] == "critical" and data["source"] == "manual"
    assert data["created_by"] == str(admin_a.pk)
    again = api.post("/api/v1/incidents/", body)
    assert again.status_code == 200 and again.json()["id"] == data["id"]


def test_create_incident_validation_errors_name_the_fields(api, world_a):
    response = api.post("/api/v1/incidents/", {"service": str(world_a.service.pk), "severity": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"title", "severity"}


def test_acknowledge_resolve_and_conflict(api, world_a):
    url = f"/api/v1/incidents/{world_a.incident.pk}"
    acked = api.post(f"{url}/acknowledge/")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert api.post(f"{url}/acknowledge/").status_code == 200  # idempotent
    resolved = api.post(f"{url}/resolve/")
    assert resolved.json()["status"] == "resolved"
    conflict = api.post(f"{url}/acknowledge/")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "conflict"


def test_notes_and_timeline(api, world_a):
    url = f"/api/v1/incidents/{world_a.incident.pk}"
    added = api.post(f"{url}/notes/", {"message": "  Looking into it  "})
    assert added.status_code == 201 and added.json()["message"] == "Looking into it"
    notes = api.get(f"{url}/notes/").json()["results"]
    assert [n["message"] for n in notes] == ["Note a", "Looking into it"]
    assert api.post(f"{url}/notes/", {"message": ""}).status_code == 400
    api.post(f"{url}/acknowledge/")
    types = [entry["type"] for entry in api.get(f"{url}/timeline/").json()["results"]]
    assert types[0] == "triggered" and "note" in types and "status_change" in types


def test_cursor_pagination_walks_every_incident_once(api, world_a):
    for number in range(7):
        lifecycle.open_incident(world_a.service, f"Extra {number}")
    seen, url, pages = [], "/api/v1/incidents/?limit=3", 0
    while url:
        body = api.get(url).json()
        seen += [item["id"] for item in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 8


def test_incident_filters(api, world_a):
    low = lifecycle.open_incident(world_a.service, "Low one", severity="low").incident
    lifecycle.acknowledge(low, None)
    other = Service.objects.create(organization=world_a.organization, name="Other")
    lifecycle.open_incident(other, "Elsewhere", severity="info")

    def ids(**params):
        return {item["title"] for item in api.get("/api/v1/incidents/", **params).json()["results"]}

    assert ids(status="acknowledged") == {"Low one"}
    assert ids(status=["triggered", "acknowledged"]) == {"Incident a", "Low one", "Elsewhere"}
    assert ids(severity="info") == {"Elsewhere"}
    assert ids(service=str(other.pk)) == {"Elsewhere"}
    assert ids(urgency="high", service=str(world_a.service.pk)) == {"Incident a", "Low one"}
    assert ids(dedup_key="dedup-a") == {"Incident a"}
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    assert ids(created_after=future) == set()
    bad = api.get("/api/v1/incidents/", status="sleeping")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_services_crud_and_integrations(api, world_a):
    created = api.post(
        "/api/v1/services/",
        {
            "name": "Checkout",
            "urgency_rule": "severity_based",
            "escalation_policy": str(world_a.policy.pk),
        },
    )
    assert created.status_code == 201, created.json()
    service_id = created.json()["id"]
    assert api.post("/api/v1/services/", {"name": "checkout"}).status_code == 409
    too_short = api.post("/api/v1/services/", {"name": "x", "auto_resolve_timeout": 5})
    assert too_short.status_code == 400
    patched = api.patch(f"/api/v1/services/{service_id}/", {"description": "Payments"})
    assert patched.json()["description"] == "Payments"
    integration = api.post(
        f"/api/v1/services/{service_id}/integrations/",
        {"name": "Prometheus", "kind": "alertmanager"},
    )
    assert integration.status_code == 201 and len(integration.json()["integration_key"]) == 32
    listed = api.get(f"/api/v1/services/{service_id}/integrations/").json()["results"]
    assert [i["name"] for i in listed] == ["Prometheus"]
    names = [s["name"] for s in api.get("/api/v1/services/").json()["results"]]
    assert names == ["Checkout", "Service a"]
    assert api.delete(f"/api/v1/services/{world_a.service.pk}/").status_code == 409
    assert api.delete(f"/api/v1/services/{service_id}/").status_code == 204
    assert not Service.objects.filter(pk=service_id).exists()


def test_escalation_policy_with_nested_rules(api, world_a):
    body = {
        "name": "Night",
        "repeat_count": 2,
        "rules": [
            {"delay_minutes": 5, "targets": [{"type": "user", "id": str(world_a.person.pk)}]},
            {
                "delay_minutes": 15,
                "targets": [
                    {"type": "schedule", "id": str(world_a.schedule.pk)},
                    {"type": "team", "id": str(world_a.team.pk)},
                ],
            },
        ],
    }
    created = api.post("/api/v1/escalation-policies/", body)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert [r["position"] for r in data["rules"]] == [0, 1]
    assert data["rules"][1]["targets"][1] == {"type": "team", "id": str(world_a.team.pk)}
    replaced = api.patch(
        f"/api/v1/escalation-policies/{data['id']}/",
        {
            "rules": [
                {"delay_minutes": 1, "targets": [{"type": "user", "id": str(world_a.person.pk)}]}
            ]
        },
    )
    assert len(replaced.json()["rules"]) == 1
    policy = EscalationPolicy.objects.get(pk=data["id"])
    assert policy.rules.count() == 1
    listed = api.get("/api/v1/escalation-policies/").json()["results"]
    assert {p["name"] for p in listed} == {"Night", "Policy a"}
    assert api.delete(f"/api/v1/escalation-policies/{world_a.policy.pk}/").status_code == 409
    assert api.delete(f"/api/v1/escalation-policies/{data['id']}/").status_code == 204


def test_schedules_on_call_now_and_shifts(api, world_a):
    listed = api.get("/api/v1/schedules/").json()["results"]
    assert listed[0]["layers"][0]["members"] == [str(world_a.person.pk)]
    url = f"/api/v1/schedules/{world_a.schedule.pk}"
    now = api.get(f"{url}/on-call-now/").json()
    assert now["user"]["id"] == str(world_a.person.pk)
    since = timezone.now().replace(microsecond=0)
    until = since + dt.timedelta(days=2)
    shifts = api.get(f"{url}/shifts/", since=since.isoformat(), until=until.isoformat()).json()
    assert shifts == [{"user": now["user"], "start": shifts[0]["start"], "end": shifts[0]["end"]}]
    assert dt.datetime.fromisoformat(shifts[0]["start"].replace("Z", "+00:00")) == since
    bad = api.get(f"{url}/shifts/", since=until.isoformat(), until=since.isoformat())
    assert bad.status_code == 400 and "until" in bad.json()["error"]["fields"]
    assert api.get(f"{url}/shifts/").status_code == 400
    created = api.post("/api/v1/schedules/", {"name": "Weekend", "time_zone": "Europe/Paris"})
    assert created.status_code == 201 and created.json()["layers"] == []
    assert (
        api.post("/api/v1/schedules/", {"name": "Bad", "time_zone": "Mars/Olympus"}).status_code
        == 400
    )


def test_users_and_teams(api, world_a, admin_a):
    users = api.get("/api/v1/users/").json()["results"]
    assert {(u["email"], u["role"]) for u in users} == {
        ("admin-a@example.com", "admin"),
        ("oncall-a@example.com", "responder"),
    }
    assert api.get(f"/api/v1/users/{admin_a.pk}/").json()["role"] == "admin"
    teams = api.get("/api/v1/teams/").json()["results"]
    assert teams[0]["members"] == [
        {
            "user": {
                "id": str(world_a.person.pk),
                "email": "oncall-a@example.com",
                "full_name": "oncall-a",
            },
            "role": "member",
        }
    ]
    assert api.post("/api/v1/users/", {}).status_code == 405


def test_nothing_is_half_written_when_a_request_fails(api, world_a):
    before = IncidentUpdate.objects.count(), Incident.objects.count()
    body = {
        "name": "Broken",
        "rules": [
            {
                "delay_minutes": 5,
                "targets": [{"type": "user", "id": "00000000-0000-0000-0000-000000000000"}],
            }
        ],
    }
    assert api.post("/api/v1/escalation-policies/", body).status_code == 400
    assert not EscalationPolicy.objects.filter(name="Broken").exists()
    assert (IncidentUpdate.objects.count(), Incident.objects.count()) == before


# Found by the schema fuzzing against real objects (tests/api/test_schema.py).


def test_a_note_without_a_message_is_a_400_naming_it(api, world_a):
    url = f"/api/v1/incidents/{world_a.incident.pk}/notes/"
    response = api.post(url, {})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"message": ["This field is required."]}
    assert world_a.incident.updates.filter(update_type="note").count() == 1


def test_times_with_any_iso_offset_filter_or_are_a_400(api, full_world_a):
    """ISO 8601 allows offsets PostgreSQL refuses (beyond ±15:59), and times that leave
    the calendar once shifted to UTC: the former filter as the same instant, the latter
    are an invalid parameter, never a database error."""
    check = full_world_a.check
    for url, since, until in (
        ("/api/v1/incidents/", "created_after", "created_before"),
        (f"/api/v1/checks/{check.pk}/results/", "since", "until"),
    ):
        odd = api.get(url, **{since: "2000-01-01T00:00:00-20:46"})
        assert odd.status_code == 200 and len(odd.json()["results"]) == 1, url
        assert api.get(url, **{until: "2000-01-01T00:00:00+20:46"}).json()["results"] == []
        edge = api.get(url, **{until: "0001-01-01T00:00:00+01:00"})
        assert edge.status_code == 400 and until in edge.json()["error"]["fields"], url


def test_notes_and_timeline_ignore_the_incident_lists_filters(api, world_a):
    """They used to run the list's filters on the incident lookup: ``?status=resolved``
    turned an open incident's notes into a 404 (and the schema listed those filters)."""
    url = f"/api/v1/incidents/{world_a.incident.pk}"
    notes = api.get(f"{url}/notes/", status="resolved", created_after="2999-01-01T00:00Z")
    assert notes.status_code == 200 and [n["message"] for n in notes.json()["results"]] == [
        "Note a"
    ]
    assert api.get(f"{url}/timeline/", urgency="low").status_code == 200
