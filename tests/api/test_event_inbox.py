"""Events API ingest through the inbox (incidents/event_inbox.py, sql/event_inbox.sql): the
202 is durable before it is sent, and applying happens after, in order, in batches.

These tests post through the production WSGI front door outside any transaction, as a web
server does, so they see committed data only."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from django.db import connection

from accounts.models import Organization
from alert24.tenancy import organization_scope
from incidents import event_inbox, lifecycle
from incidents.events_views import EventsFrontDoor
from incidents.models import InboxEvent, Incident, IncidentUpdate, ServiceIntegration
from incidents.tasks import apply_event_inbox
from tests.child_processes import database_url
from tests.incidents.factories import member, policy, service
from tests.wsgi_calls import CountingDjango, call

pytestmark = pytest.mark.django_db(transaction=True)


def make_routing(slug: str) -> ServiceIntegration:
    organization = Organization.objects.create(name=slug.title(), slug=slug)
    responder = member(organization, f"oncall@{slug}.example")
    svc = service(organization, policy(organization, [[responder]]), name="Checkout")
    return ServiceIntegration.objects.create(organization=organization, service=svc)


@pytest.fixture
def routing():
    return make_routing("acme")


@pytest.fixture
def door():
    return EventsFrontDoor(CountingDjango())


@pytest.fixture
def applier_down(monkeypatch):
    """No applier thread: what an accepted event looks like while nothing applies it
    (the process died right after the 202, say)."""
    event_inbox.applier.stop()
    monkeypatch.setattr(event_inbox.applier, "wake", lambda: None)


def send(door, routing, action: str, dedup_key: str | None = None, summary: str = "Disk full"):
    body: dict = {"routing_key": routing.integration_key, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {"summary": summary, "source": "db-1", "severity": "critical"}
    status, _, answer = call(
        door, "/v2/enqueue", method="POST", body=json.dumps(body).encode(),
        content_type="application/json", host="127.0.0.1",
    )  # fmt: skip
    return status, json.loads(answer)


def test_an_accepted_event_is_stored_before_the_answer_and_applied_later(
    routing, door, applier_down
):
    status, answer = send(door, routing, "trigger", "disk")

    assert status == "202 Accepted" and answer["dedup_key"] == "disk"
    waiting = InboxEvent.objects.get()  # committed: another connection can read it
    assert (waiting.action, waiting.dedup_key, waiting.title) == ("trigger", "disk", "Disk full")
    assert waiting.organization_id == routing.organization_id
    assert not Incident.objects.exists()

    assert event_inbox.apply_waiting() == {"applied": 1, "opened": 1, "failed": 0}
    incident = Incident.objects.get(dedup_key="disk")
    assert (incident.severity, incident.source) == ("critical", "events")
    assert incident.details["payload"]["source"] == "db-1"
    assert not InboxEvent.objects.exists()


def test_a_keys_events_apply_in_the_order_they_were_accepted(routing, door, applier_down):
    send(door, routing, "trigger", "disk")
    send(door, routing, "trigger", "disk", summary="Disk still full")
    send(door, routing, "acknowledge", "disk")
    send(door, routing, "resolve", "disk")
    send(door, routing, "trigger", "disk", summary="Disk full again")
    assert InboxEvent.objects.count() == 5

    assert event_inbox.apply_waiting() == {"applied": 5, "opened": 2, "failed": 0}
    first, second = Incident.objects.filter(dedup_key="disk").order_by("triggered_at")
    assert (first.status, second.status) == ("resolved", "triggered")
    assert second.title == "Disk full again"
    assert IncidentUpdate.objects.filter(incident=first, update_type="dedup").count() == 1


def test_the_applier_thread_applies_what_its_process_accepted(routing, door):
    send(door, routing, "trigger", "disk")
    deadline = time.monotonic() + 10
    while not Incident.objects.filter(dedup_key="disk").exists():
        assert time.monotonic() < deadline, "the applier thread never applied the event"
        time.sleep(0.02)
    assert not InboxEvent.objects.exists()


def test_an_unknown_key_is_refused_and_nothing_is_stored(door, applier_down):
    status, answer = call(
        door, "/v2/enqueue", method="POST", content_type="application/json",
        body=json.dumps({"routing_key": "R" * 32, "event_action": "trigger", "payload": {
            "summary": "x", "source": "y", "severity": "info"}}).encode(),
    )[0::2]  # fmt: skip
    assert status.startswith("400")
    assert json.loads(answer)["errors"] == ["Invalid routing key"]
    assert not InboxEvent.objects.exists()


def test_an_event_that_fails_is_kept_and_retried_and_the_rest_still_apply(
    routing, door, applier_down
):
    send(door, routing, "trigger", "one")
    # An event no request can produce (validation refuses it): applying it raises.
    broken = InboxEvent.objects.create(
        organization=routing.organization, integration_key=routing.integration_key,
        action="explode", dedup_key="two",
    )  # fmt: skip
    send(door, routing, "trigger", "three")

    assert event_inbox.apply_waiting() == {"applied": 2, "opened": 2, "failed": 1}
    assert set(Incident.objects.values_list("dedup_key", flat=True)) == {"one", "three"}
    broken.refresh_from_db()
    assert broken.attempts == 1 and "unknown event action" in broken.error
    assert broken.failed_at is None  # retried by the next call

    for _ in range(4):
        event_inbox.apply_waiting()
    broken.refresh_from_db()
    assert broken.attempts == 5 and broken.failed_at is not None
    assert event_inbox.apply_waiting() == {"applied": 0, "opened": 0, "failed": 0}
    assert InboxEvent.objects.get() == broken  # kept for an administrator, not dropped


def test_ingest_needs_neither_redis_nor_a_worker(routing, door, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    lifecycle._kick_redis_down_until = 0.0
    try:
        status, _ = send(door, routing, "trigger", "no-redis")
        assert status == "202 Accepted"
        deadline = time.monotonic() + 10
        while not Incident.objects.filter(dedup_key="no-redis").exists():
            assert time.monotonic() < deadline, "not applied while Redis was down"
            time.sleep(0.02)
    finally:
        lifecycle._kick_redis_down_until = 0.0


def test_beat_applies_what_a_dead_process_left_waiting(routing, door, applier_down):
    send(door, routing, "trigger", "orphan")
    assert apply_event_inbox() == {"applied": 1, "opened": 1, "failed": 0}
    assert Incident.objects.filter(dedup_key="orphan").exists()


def test_waiting_events_are_isolated_by_organization(routing, door, applier_down):
    other = make_routing("globex")
    send(door, routing, "trigger", "acme-disk")
    send(door, other, "trigger", "globex-disk")

    with organization_scope(other.organization_id), connection.cursor() as cursor:
        cursor.execute("SELECT dedup_key FROM event_inbox")  # no filter: RLS decides
        assert [row[0] for row in cursor.fetchall()] == ["globex-disk"]
    assert list(
        InboxEvent.objects.filter(organization=other.organization).values_list(
            "dedup_key", flat=True
        )
    ) == ["globex-disk"]

    event_inbox.apply_waiting()
    assert Incident.objects.get(dedup_key="acme-disk").organization_id == routing.organization_id
    assert Incident.objects.get(dedup_key="globex-disk").organization_id == (other.organization_id)


def test_a_connection_the_server_dropped_is_replaced_without_losing_the_event(routing, door):
    send(door, routing, "trigger", "before")
    with psycopg.connect(database_url()) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    status, _ = send(door, routing, "trigger", "after")

    assert status == "202 Accepted"
    event_inbox.apply_waiting()
    assert set(Incident.objects.values_list("dedup_key", flat=True)) == {"before", "after"}
