"""Status pages over the REST API: pages, groups, components, published incidents and their
updates, maintenance windows and subscribers.

Real PostgreSQL: the triggers that move components, queue subscriber notices and bump the
page's version run as they do for the admin.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from statuspages import services
from statuspages.models import (
    Component,
    ComponentStatusHistory,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    Subscriber,
    SubscriberComponent,
    SubscriberNotification,
)
from statuspages.subscriptions import confirmation_token, unsubscribe_token

pytestmark = pytest.mark.django_db


def _confirmed(page: StatusPage, channel: str, target: str, components=()) -> Subscriber:
    subscriber = Subscriber.objects.create(
        organization_id=page.organization_id,
        status_page=page,
        channel=channel,
        target=target,
        confirmed_at=timezone.now(),
    )
    for component in components:
        SubscriberComponent.objects.create(
            organization_id=page.organization_id, subscriber=subscriber, component=component
        )
    return subscriber


def test_status_page_crud_and_validation(api, world_a):
    created = api.post(
        "/api/v1/status-pages/",
        {"name": "Acme status", "slug": " Acme-Status ", "custom_domain": "Status.Acme.Example."},
    )
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["slug"], data["custom_domain"]) == ("acme-status", "status.acme.example")
    assert data["url"] == "https://status.acme.example/"
    url = f"/api/v1/status-pages/{data['id']}/"
    renamed = api.patch(url, {"name": "Acme"})
    assert renamed.json()["name"] == "Acme"
    assert renamed.json()["content_version"] > data["content_version"]
    for body, field in [
        ({"slug": "under_score"}, "slug"),
        ({"custom_domain": "https://x.example/"}, "custom_domain"),
        ({"allowed_ips": "10.0.0.0/8 not-a-network"}, "allowed_ips"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"support_url": "javascript:alert(1)"}, "support_url"),
        ({"name": ""}, "name"),
    ]:
        response = api.patch(url, body)
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"]
    taken = api.post("/api/v1/status-pages/", {"name": "Copy", "slug": "acme-status"})
    assert taken.status_code in (400, 409)
    assert StatusPage.objects.filter(slug="acme-status").count() == 1
    assert [p["name"] for p in api.get("/api/v1/status-pages/").json()["results"]] == ["Acme"]
    assert api.delete(url).status_code == 204
    assert not StatusPage.objects.filter(pk=data["id"]).exists()


def test_groups_and_components(api, full_world_a):
    w = full_world_a
    page = str(w.page.pk)
    group = api.post("/api/v1/component-groups/", {"status_page": page, "name": "Edge"}).json()
    body = {
        "status_page": page,
        "group": group["id"],
        "name": "CDN",
        "position": 3,
        "services": [str(w.service.pk)],
        "monitoring_check": str(w.check.pk),
    }
    created = api.post("/api/v1/components/", body)
    assert created.status_code == 201, created.json()
    component = created.json()
    assert component["services"] == [str(w.service.pk)]
    assert component["monitoring_check"] == str(w.check.pk)
    assert component["status"] == "operational" and component["monitoring_status"] is None
    url = f"/api/v1/components/{component['id']}/"
    changed = api.patch(url, {"status": "degraded_performance", "description": "Static files"})
    assert changed.json()["status"] == "degraded_performance"
    history = ComponentStatusHistory.objects.filter(component_id=component["id"]).last()
    assert (history.new_status, history.reason) == ("degraded_performance", "REST API")
    other_page = StatusPage.objects.create(organization=w.organization, name="Other", slug="o-a")
    foreign_group = api.post(
        "/api/v1/component-groups/", {"status_page": str(other_page.pk), "name": "Theirs"}
    ).json()
    wrong = api.patch(url, {"group": foreign_group["id"]})
    assert wrong.status_code == 400 and "group" in wrong.json()["error"]["fields"]
    assert api.patch(url, {"status": "on_fire"}).status_code == 400

    def names(url, **params):
        return [item["name"] for item in api.get(url, **params).json()["results"]]

    assert names("/api/v1/components/", status_page=page) == ["Component a", "CDN"]
    assert names("/api/v1/components/", group=group["id"]) == ["CDN"]
    assert names("/api/v1/components/", status="degraded_performance") == ["CDN"]
    # Unlinking a service is an event: the status is recomputed (nothing holds it now).
    unlinked = api.patch(url, {"services": []}).json()
    assert (unlinked["services"], unlinked["status"]) == ([], "operational")
    assert names("/api/v1/component-groups/", status_page=page) == ["Edge", "Group a"]
    assert api.delete(f"/api/v1/component-groups/{group['id']}/").status_code == 204
    assert api.get(url).json()["group"] is None
    assert api.delete(url).status_code == 204


def test_publishing_notifies_subscribers_as_the_admin_does(api, full_world_a):
    w = full_world_a
    page, component = w.page, w.component
    other = Component.objects.create(organization=w.organization, status_page=page, name="Docs")
    _confirmed(page, "email", "everything@example.com")
    _confirmed(page, "email", "docs-only@example.com", [other])
    _confirmed(page, "email", "component-a@example.com", [component])
    Subscriber.objects.create(
        organization=w.organization, status_page=page, channel="email", target="unconfirmed@x.io"
    )
    body = {
        "status_page": str(page.pk),
        "name": "Elevated errors",
        "body": "We are **investigating**.",
        "impact": "major",
        "components": {str(component.pk): "partial_outage"},
    }
    created = api.post("/api/v1/status-page-incidents/", body, From="admin-a@example.com")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["status"], data["impact"], data["name"]) == (
        "investigating",
        "major",
        body["name"],
    )
    assert data["components"] == [
        {"id": str(component.pk), "name": "Component a", "status": "partial_outage"}
    ]
    assert [u["body"] for u in data["updates"]] == ["We are **investigating**."]
    via_api = set(
        SubscriberNotification.objects.filter(
            incident_update__status_page_incident_id=data["id"]
        ).values_list("subscriber__target", flat=True)
    )
    # The same publication made the way the admin and incident UI make it:
    direct = services.publish_incident(
        None, page, name="Same", message="x", impact="major",
        components={component.pk: "partial_outage"},
    )  # fmt: skip
    via_services = set(
        SubscriberNotification.objects.filter(
            incident_update__status_page_incident=direct
        ).values_list("subscriber__target", flat=True)
    )
    assert (
        via_api
        == via_services
        == {
            "everything@example.com",
            "component-a@example.com",
            "https://hooks.example.com/subscriber-a",
        }
    )

    url = f"/api/v1/status-page-incidents/{data['id']}"
    update = api.post(
        f"{url}/updates/",
        {
            "status": "identified",
            "body": "A bad deploy.",
            "components": {str(other.pk): "degraded_performance"},
        },
    )
    assert update.status_code == 201, update.json()
    assert update.json()["affected_components"][0]["new_status"] == "degraded_performance"
    other.refresh_from_db()
    assert other.status == "degraded_performance"
    resolved = api.post(f"{url}/updates/", {"status": "resolved", "body": "Fixed."})
    assert resolved.status_code == 201
    incident = api.get(f"{url}/").json()
    assert incident["status"] == "resolved" and incident["resolved_at"]
    timeline = api.get(f"{url}/updates/").json()["results"]
    assert [u["status"] for u in timeline] == ["resolved", "identified", "investigating"]
    first = api.get(f"{url}/updates/?limit=2").json()
    assert [u["status"] for u in first["results"]] == ["resolved", "identified"]
    rest = api.get(first["next"]).json()
    assert [u["status"] for u in rest["results"]] == ["investigating"] and rest["next"] is None
    assert api.get(f"{url}/updates/?cursor=bogus").status_code == 400
    quiet_body = {"status": "postmortem", "body": "Write-up.", "deliver_notifications": False}
    quiet = api.post(f"{url}/updates/", quiet_body)
    assert quiet.status_code == 201
    assert not SubscriberNotification.objects.filter(incident_update_id=quiet.json()["id"]).exists()
    edited = api.patch(
        f"{url}/", {"impact": "minor", "postmortem_body": "Root cause…", "status": "x"}
    )
    assert edited.status_code == 200
    assert (edited.json()["impact"], edited.json()["status"]) == ("minor", "postmortem")


def test_publishing_from_an_internal_incident(api, full_world_a):
    w = full_world_a
    linked = Component.objects.create(organization=w.organization, status_page=w.page, name="API")
    linked.services.add(w.service, through_defaults={"organization": w.organization})
    created = api.post(
        "/api/v1/status-page-incidents/",
        {"status_page": str(w.page.pk), "body": "Investigating.", "incident": str(w.incident.pk)},
    )
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["name"] == "Incident a" and data["incident"] == str(w.incident.pk)
    assert [c["id"] for c in data["components"]] == [str(linked.pk)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"name": ""}, "name"),
        ({"status": "panicking"}, "status"),
        ({"impact": "apocalyptic"}, "impact"),
        ({"components": {"not-a-uuid": "major_outage"}}, "components"),
        ({"components": {"00000000-0000-0000-0000-000000000000": "major_outage"}}, "components"),
        ({"components": ["x"]}, "components"),
        ({"status_page": "00000000-0000-0000-0000-000000000000"}, "status_page"),
    ],
)
def test_bad_incident_input_is_a_400_naming_the_field(api, full_world_a, body, field):
    w = full_world_a
    full = {"status_page": str(w.page.pk), "name": "Down", "body": "Looking.", **body}
    before = (StatusPageIncident.objects.count(), SubscriberNotification.objects.count())
    response = api.post("/api/v1/status-page-incidents/", full)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert (StatusPageIncident.objects.count(), SubscriberNotification.objects.count()) == before
    bad_update = api.post(
        f"/api/v1/status-page-incidents/{w.published.pk}/updates/", {"status": "resolved"}
    )
    assert bad_update.status_code == 400 and "body" in bad_update.json()["error"]["fields"]


def test_maintenance_windows(api, full_world_a):
    w = full_world_a
    _confirmed(w.page, "email", "ops@example.com")
    start = timezone.now() + dt.timedelta(hours=2)
    body = {
        "status_page": str(w.page.pk),
        "name": "Database upgrade",
        "scheduled_start": start.isoformat(),
        "scheduled_end": (start + dt.timedelta(hours=1)).isoformat(),
        "components": [str(w.component.pk)],
    }
    created = api.post("/api/v1/maintenance-windows/", body)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["status"], data["impact"]) == ("scheduled", "maintenance")
    assert data["components"] == [str(w.component.pk)]
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does
    notices = SubscriberNotification.objects.filter(maintenance_window_id=data["id"])
    assert set(notices.values_list("event", flat=True)) == {"maintenance_scheduled"}
    url = f"/api/v1/maintenance-windows/{data['id']}/"
    started = api.patch(url, {"status": "in_progress"}).json()
    assert started["status"] == "in_progress" and started["started_at"]
    services.post_update(w.published, status="resolved", message="Fixed.")  # release the outage
    w.component.refresh_from_db()
    assert w.component.status == "under_maintenance"
    moved = api.patch(url, {"components": [], "description": "Rescheduled."})
    assert moved.json()["components"] == [] and moved.json()["description"] == "Rescheduled."
    w.component.refresh_from_db()
    assert w.component.status == "operational"
    completed = api.patch(url, {"status": "completed"}).json()
    assert completed["completed_at"]
    assert set(notices.values_list("event", flat=True)) == {
        "maintenance_scheduled", "maintenance_in_progress", "maintenance_completed"
    }  # fmt: skip
    backwards = api.patch(url, {"scheduled_end": start.isoformat()})
    assert backwards.status_code == 400 and "scheduled_end" in backwards.json()["error"]["fields"]
    early_status = api.post("/api/v1/maintenance-windows/", {**body, "status": "completed"})
    assert early_status.status_code == 400 and "status" in early_status.json()["error"]["fields"]
    statuses = [m["status"] for m in api.get("/api/v1/maintenance-windows/").json()["results"]]
    assert statuses == ["scheduled", "completed"]
    assert api.get("/api/v1/maintenance-windows/", status="completed").json()["results"][0][
        "id"
    ] == str(data["id"])
    assert api.delete(url).status_code == 204
    assert not MaintenanceWindow.objects.filter(pk=data["id"]).exists()


def test_subscribers_list_create_unsubscribe_without_tokens(api, full_world_a):
    w = full_world_a
    page = str(w.page.pk)
    created = api.post(
        "/api/v1/subscribers/",
        {"status_page": page, "channel": "email", "target": " Alice@Example.com ",
         "components": [str(w.component.pk)]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    data = created.json()
    assert (data["target"], data["state"], data["confirmed_at"]) == (
        "alice@example.com", "pending", None
    )  # fmt: skip
    assert data["components"] == [str(w.component.pk)]
    again = api.post(
        "/api/v1/subscribers/",
        {"status_page": page, "channel": "email", "target": "ALICE@example.com"},
    )
    assert again.status_code == 409
    bad = api.post("/api/v1/subscribers/", {"status_page": page, "channel": "sms", "target": "12"})
    assert bad.status_code == 400 and "target" in bad.json()["error"]["fields"]
    bad = api.post("/api/v1/subscribers/", {"status_page": page, "channel": "fax", "target": "1"})
    assert bad.status_code == 400 and "channel" in bad.json()["error"]["fields"]

    subscriber = Subscriber.objects.get(pk=data["id"])
    listed = api.get("/api/v1/subscribers/", status_page=page)
    detail = api.get(f"/api/v1/subscribers/{data['id']}/")
    for response in (created, listed, detail):
        text = response.content.decode()
        for token in (unsubscribe_token(subscriber), confirmation_token(subscriber)):
            assert token.split(":")[0] not in text  # the signed payload, whatever the timestamp
        assert "token" not in text
    assert set(detail.json()) == {
        "id", "status_page", "channel", "target", "components", "state", "confirmed_at",
        "unsubscribed_at", "created_at",
    }  # fmt: skip
    states = {s["target"]: s["state"] for s in listed.json()["results"]}
    assert states == {
        "alice@example.com": "pending",
        "https://hooks.example.com/subscriber-a": "active",
    }

    webhook = w.subscriber
    services.post_update(
        w.published, status="identified", message="Found it.", deliver_notifications=True
    )
    queued = SubscriberNotification.objects.filter(subscriber=webhook, status="queued")
    assert queued.exists()
    assert api.delete(f"/api/v1/subscribers/{webhook.pk}/").status_code == 204
    assert api.delete(f"/api/v1/subscribers/{webhook.pk}/").status_code == 204  # idempotent
    webhook.refresh_from_db()
    assert webhook.unsubscribed_at is not None and not queued.exists()
    assert api.get(f"/api/v1/subscribers/{webhook.pk}/").json()["state"] == "unsubscribed"
    assert [
        s["target"] for s in api.get("/api/v1/subscribers/", state="active").json()["results"]
    ] == []
    back = api.post(
        "/api/v1/subscribers/",
        {"status_page": page, "channel": "webhook", "target": webhook.target},
    )
    assert back.status_code == 201 and back.json()["state"] == "active"


def test_read_only_key_cannot_change_status_pages(read_api, full_world_a):
    w = full_world_a
    page = str(w.page.pk)
    writes = [
        ("post", "/api/v1/status-pages/", {"name": "X", "slug": "x-page"}),
        ("patch", f"/api/v1/status-pages/{page}/", {"name": "X"}),
        ("delete", f"/api/v1/status-pages/{page}/", None),
        ("post", "/api/v1/component-groups/", {"status_page": page, "name": "G"}),
        ("patch", f"/api/v1/component-groups/{w.group.pk}/", {"name": "G"}),
        ("delete", f"/api/v1/component-groups/{w.group.pk}/", None),
        ("post", "/api/v1/components/", {"status_page": page, "name": "C"}),
        ("patch", f"/api/v1/components/{w.component.pk}/", {"status": "operational"}),
        ("delete", f"/api/v1/components/{w.component.pk}/", None),
        ("post", "/api/v1/status-page-incidents/", {"status_page": page, "name": "I", "body": "b"}),
        ("patch", f"/api/v1/status-page-incidents/{w.published.pk}/", {"name": "I"}),
        ("delete", f"/api/v1/status-page-incidents/{w.published.pk}/", None),
        (
            "post",
            f"/api/v1/status-page-incidents/{w.published.pk}/updates/",
            {"status": "resolved", "body": "b"},
        ),
        ("patch", f"/api/v1/maintenance-windows/{w.window.pk}/", {"status": "in_progress"}),
        ("delete", f"/api/v1/maintenance-windows/{w.window.pk}/", None),
        (
            "post",
            "/api/v1/subscribers/",
            {"status_page": page, "channel": "webhook", "target": "https://x.example/"},
        ),
        ("delete", f"/api/v1/subscribers/{w.subscriber.pk}/", None),
    ]
    for method, url, body in writes:
        call = getattr(read_api, method)
        response = call(url, body) if body is not None else call(url)
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
    assert StatusPage.objects.get(pk=w.page.pk).name == "Page a"
    w.component.refresh_from_db()
    assert w.component.status == "major_outage"
    assert StatusPageIncident.objects.get(pk=w.published.pk).status == "investigating"
    assert MaintenanceWindow.objects.get(pk=w.window.pk).status == "scheduled"
    assert Subscriber.objects.get(pk=w.subscriber.pk).unsubscribed_at is None
    assert Subscriber.objects.count() == 1
    for url in (
        "/api/v1/status-pages/",
        "/api/v1/components/",
        "/api/v1/status-page-incidents/",
        "/api/v1/maintenance-windows/",
        "/api/v1/subscribers/",
    ):
        assert read_api.get(url).status_code == 200
