"""Events are written by the database, in the transaction of the change, whatever path
made it: the ORM, lifecycle functions, raw SQL from psql, the sweep, monitoring, status pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from alert24.tenancy import organization_scope
from incidents import lifecycle
from incidents.models import Incident
from statuspages import services as statuspages
from tests.incidents.factories import member, policy, service
from tests.monitoring.factories import location, make_check, result
from tests.statuspages.conftest import build_page
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

from .conftest import commit_point, deliveries, event_types

pytestmark = pytest.mark.django_db

OLD = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def ana(org_a):
    return member(org_a, "ana@example.com")


@pytest.fixture
def api(org_a, ana):
    return service(org_a, policy(org_a, [[ana]]), name="Payments API")


def endpoint(org, types, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        organization=org, url="https://hooks.example.com/a24", event_types=types, **fields
    )


def test_incident_lifecycle_writes_one_event_per_change(org_a, api, ana):
    everything = endpoint(org_a, ["incident.triggered", "incident.acknowledged",
                                  "incident.resolved"])  # fmt: skip
    only_resolved = endpoint(org_a, ["incident.resolved"])
    incident = lifecycle.open_incident(api, "Checkout failing", description="500s").incident
    lifecycle.acknowledge(incident, ana)
    lifecycle.resolve(incident, ana)

    assert event_types(everything) == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
    ]
    assert event_types(only_resolved) == ["incident.resolved"]
    # One event row per change, shared by the endpoints that want it.
    assert WebhookEvent.objects.count() == 3
    acknowledged = deliveries(everything)[1].event.payload
    assert acknowledged["type"] == "incident.acknowledged"
    assert acknowledged["id"] == str(deliveries(everything)[1].event_id)
    assert acknowledged["organization"] == {
        "id": str(org_a.pk),
        "slug": "acme",
        "name": "Acme",
    }
    data = acknowledged["data"]
    assert data["previous_status"] == "triggered"
    assert data["actor"]["email"] == "ana@example.com"
    assert data["incident"]["id"] == str(incident.pk)
    assert data["incident"]["title"] == "Checkout failing"
    assert data["incident"]["status"] == "acknowledged"
    assert data["incident"]["service"] == {"id": str(api.pk), "name": "Payments API"}
    assert data["incident"]["acknowledged_by"]["email"] == "ana@example.com"
    assert data["incident"]["acknowledged_at"].endswith("Z")
    resolved = deliveries(only_resolved)[0]
    assert resolved.status == "pending" and resolved.attempts == 0


def test_sql_paths_are_caught_too(org_a, api):
    hook = endpoint(org_a, ["incident.triggered", "incident.unacknowledged",
                            "incident.acknowledged", "incident.resolved"])  # fmt: skip
    api.acknowledgement_timeout = 60
    api.auto_resolve_timeout = 3600
    api.save()
    with connection.cursor() as cursor:
        # The seed's verbatim call, as from psql.
        cursor.execute("SELECT incident_id FROM open_incident(%s, 'Disk full')", [api.pk])
        incident_id = cursor.fetchone()[0]
        cursor.execute("UPDATE incidents SET status = 'acknowledged' WHERE id = %s", [incident_id])
        cursor.execute(
            "UPDATE incidents SET acknowledged_at = %s WHERE id = %s", [OLD, incident_id]
        )
        cursor.execute("SELECT process_incident_timeouts()")  # acknowledgement timed out
        cursor.execute("UPDATE incidents SET triggered_at = %s WHERE id = %s", [OLD, incident_id])
        cursor.execute("SELECT process_incident_timeouts()")  # auto-resolved
    assert event_types(hook) == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
    ]
    retriggered, resolved = (d.event.payload["data"] for d in deliveries(hook)[2:])
    assert retriggered["reason"] == "acknowledgement timed out"
    assert retriggered["previous_status"] == "acknowledged"
    assert resolved["reason"] == "auto-resolved after timeout"
    assert resolved["actor"] is None


def test_rolled_back_change_leaves_no_event(org_a, api):
    hook = endpoint(org_a, ["incident.triggered"])
    with pytest.raises(RuntimeError), transaction.atomic():
        lifecycle.open_incident(api, "Never happened")
        raise RuntimeError
    assert not Incident.objects.exists()
    assert event_types(hook) == []


def test_nobody_listening_writes_nothing(org_a, org_b, api):
    endpoint(org_a, ["incident.triggered"], enabled=False)
    endpoint(org_b, ["incident.triggered"])  # another organization's endpoint
    endpoint(org_a, ["monitor.down"])  # another event type
    lifecycle.open_incident(api, "Quiet")
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_reassign_and_escalation_events(org_a, api, ana):
    bo = member(org_a, "bo@example.com")
    hook = endpoint(org_a, ["incident.reassigned", "incident.escalated"])
    incident = lifecycle.open_incident(api, "Latency").incident
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_pending_escalations()")  # level 1 pages ana
    lifecycle.reassign_to_user(incident, bo, ana)
    assert event_types(hook) == ["incident.escalated", "incident.reassigned"]
    escalated, reassigned = (d.event.payload["data"] for d in deliveries(hook))
    assert escalated["message"].startswith("Escalated to level 1")
    assert reassigned["actor"]["email"] == "ana@example.com"
    assert [a["email"] for a in reassigned["incident"]["assignees"]] == ["bo@example.com"]


def test_monitor_down_and_up_from_record_check_results(org_a, api):
    from monitoring.engine import record_results

    hook = endpoint(org_a, ["monitor.down", "monitor.up", "incident.triggered"])
    check = make_check(org_a, "Checkout page", service=api, failure_threshold=1,
                       config={"url": "https://shop.example.com/"})  # fmt: skip
    where = location("us-east").pk
    record_results([(check.pk, where, result("down", reason="HTTP 503"))])
    commit_point()
    record_results([(check.pk, where, result("up"))])
    commit_point()

    assert event_types(hook) == ["incident.triggered", "monitor.down", "monitor.up"]
    incident = Incident.objects.get()
    down, up = (d.event.payload["data"] for d in deliveries(hook)[1:])
    assert down["monitor"] == {
        "id": str(check.pk),
        "name": "Checkout page",
        "type": "http",
        "target": "https://shop.example.com/",
        "service_id": str(api.pk),
    }
    assert down["alert"]["status"] == "open"
    assert down["alert"]["failure_reason"] == "HTTP 503"
    assert down["alert"]["confirmed_locations"] == ["us-east"]
    # Deferred to commit, the payload has the incident the alert opened.
    assert down["alert"]["incident_id"] == str(incident.pk)
    assert up["alert"]["status"] == "resolved" and up["alert"]["resolved_at"]
    assert up["down_for_seconds"] >= 0


def test_status_page_incident_created_and_updated(org_a):
    hook = endpoint(org_a, ["status_page.incident_updated"])
    setup = build_page(org_a, "acme-status")
    published = statuspages.publish_incident(
        None, setup.page, name="Slow logins", message="We are looking into it.",
        components={setup.api: "degraded_performance"},
    )  # fmt: skip
    commit_point()
    statuspages.post_update(published, status="resolved", message="Fixed.")
    commit_point()

    assert event_types(hook) == ["status_page.incident_updated"] * 2
    created, resolved = (d.event.payload["data"] for d in deliveries(hook))
    assert created["created"] is True and resolved["created"] is False
    assert created["status_page"]["slug"] == "acme-status"
    assert created["incident"]["name"] == "Slow logins"
    assert created["incident"]["components"] == [
        {"id": str(setup.api.pk), "name": "acme-status API", "status": "degraded_performance"}
    ]
    assert created["update"]["body"] == "We are looking into it."
    assert resolved["update"]["status"] == "resolved"
    assert resolved["incident"]["status"] == "resolved"


def test_changes_under_rls_write_events_only_for_their_organization(org_a, org_b, api, ana):
    """A web request runs as the app role: the triggers still write, within RLS."""
    hook_a = endpoint(org_a, ["incident.acknowledged"])
    hook_b = endpoint(org_b, ["incident.acknowledged"])
    incident = lifecycle.open_incident(api, "Scoped").incident
    with organization_scope(org_a.pk, ana.pk):
        lifecycle.acknowledge(Incident.objects.get(pk=incident.pk), ana)
        assert WebhookDelivery.objects.count() == 1  # the app role sees A's delivery
    assert event_types(hook_a) == ["incident.acknowledged"]
    assert event_types(hook_b) == []
    with organization_scope(org_b.pk):
        assert not WebhookDelivery.objects.exists()
        assert not WebhookEvent.objects.exists()
        assert not WebhookEndpoint.objects.exclude(pk=hook_b.pk).exists()
