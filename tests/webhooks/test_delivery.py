"""Sending: a signed POST to a real receiver on 127.0.0.1, retries with back-off, the
attempt log, redelivery and test events."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from incidents import lifecycle
from tests.channels.servers import Reply, free_port
from tests.incidents.factories import service
from webhooks import delivery, signing
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

from .conftest import Receiver, deliveries

pytestmark = pytest.mark.django_db


def make_due(row: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


@pytest.fixture
def incident(org_a):
    return lifecycle.open_incident(service(org_a, name="Payments"), "Checkout failing").incident


def test_delivery_is_signed_json_with_event_headers(org_a, receiver):
    hook = receiver.endpoint(org_a, event_types=["incident.triggered"])
    opened = lifecycle.open_incident(service(org_a, name="Payments"), "Checkout failing")
    (row,) = deliveries(hook)

    assert delivery.deliver(row.pk) == "delivered"
    (request,) = receiver.requests
    assert receiver.verified == [True]  # the README's recipe, with this endpoint's secret
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-alert24-event"] == "incident.triggered"
    assert request.headers["x-alert24-event-id"] == str(row.event_id)
    assert request.headers["x-alert24-delivery"] == str(row.pk)
    assert request.headers["x-alert24-delivery-attempt"] == "1"
    assert request.headers["user-agent"].startswith("Alert24-Webhooks/")
    body = request.json()
    assert body["id"] == str(row.event_id) and body["type"] == "incident.triggered"
    assert body["data"]["incident"]["id"] == str(opened.incident.pk)
    assert body["data"]["incident"]["html_url"] == (
        f"https://alert24.example.com/incidents/{opened.incident.pk}/"
    )
    # Another secret does not verify, nor does a changed body.
    header = request.headers["x-alert24-signature"]
    assert not signing.verify(header, request.body, "whsec_wrong")
    assert not signing.verify(header, request.body.replace(b"Checkout", b"Checkin"), hook.secret)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    assert row.delivered_at is not None
    (attempt,) = row.attempt_log.all()
    assert (attempt.number, attempt.status_code, attempt.succeeded) == (1, 200, True)
    assert attempt.response_body == "thanks" and attempt.duration_ms is not None
    # A second worker (or a redelivered Celery message) finds nothing to send.
    assert delivery.deliver(row.pk) is None
    assert len(receiver.requests) == 1


def test_server_error_is_retried_with_backoff_then_delivered(org_a, receiver, incident):
    receiver.replies = [Reply(500, "database on fire " + "x" * 5000)]
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)

    before = timezone.now()
    assert delivery.deliver(row.pk) == "pending"
    row.refresh_from_db()
    assert row.attempts == 1 and row.last_status_code == 500
    assert row.last_error == "HTTP 500"
    wait = row.next_attempt_at - before
    assert dt.timedelta(seconds=9) < wait < dt.timedelta(seconds=12)  # first back-off: 10 s
    assert delivery.deliver(row.pk) is None  # not due yet
    first = row.attempt_log.get()
    assert first.status_code == 500 and not first.succeeded
    assert first.response_body.startswith("database on fire")
    assert len(first.response_body) == delivery.RESPONSE_BODY_LIMIT  # truncated

    make_due(row)
    assert delivery.deliver(row.pk) == "delivered"
    assert [r.headers["x-alert24-delivery-attempt"] for r in receiver.requests] == ["1", "2"]
    # The same event id and body each time: receivers de-duplicate on it.
    assert len({r.headers["x-alert24-event-id"] for r in receiver.requests}) == 1
    assert receiver.requests[0].body == receiver.requests[1].body
    assert receiver.verified == [True, True]
    assert list(row.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 200)]


def test_too_many_requests_honours_retry_after(org_a, receiver, incident):
    receiver.replies = [Reply(429, "slow down", headers={"Retry-After": "120"})]
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    before = timezone.now()
    assert delivery.deliver(row.pk) == "pending"
    row.refresh_from_db()
    assert row.next_attempt_at - before >= dt.timedelta(seconds=119)


def test_client_error_is_not_retried(org_a, receiver, incident):
    receiver.replies = [Reply(404, "no such hook")]
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    assert delivery.deliver(row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.last_status_code, row.last_error) == ("failed", 404, "HTTP 404")


def test_network_errors_retry_until_the_attempts_run_out(org_a, webhook_settings, incident):
    unreachable = Receiver()  # never started: the port refuses connections
    unreachable.url = f"http://127.0.0.1:{free_port()}"
    hook = unreachable.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    statuses = []
    for _ in range(delivery.MAX_ATTEMPTS):
        make_due(row)
        statuses.append(delivery.deliver(row.pk))
    assert statuses == ["pending"] * (delivery.MAX_ATTEMPTS - 1) + ["failed"]
    row.refresh_from_db()
    assert row.attempts == delivery.MAX_ATTEMPTS
    assert row.last_status_code is None and "connection error" in row.last_error
    assert row.attempt_log.count() == delivery.MAX_ATTEMPTS
    make_due(row)
    assert delivery.deliver(row.pk) is None  # failed is final until redelivered


def test_backoff_doubles_and_is_capped():
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert delivery.backoff(30) == delivery.BACKOFF_CAP


def test_private_target_is_refused_when_not_allowed(org_a, receiver, incident, settings):
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert delivery.deliver(row.pk) == "failed"
    row.refresh_from_db()
    assert "non-public address" in row.last_error
    assert receiver.requests == []


def test_disabled_endpoint_gets_nothing_more(org_a, receiver, incident):
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    hook.enabled = False
    hook.save()
    assert delivery.deliver(row.pk) == "failed"
    row.refresh_from_db()
    assert row.last_error == "endpoint disabled" and receiver.requests == []


def test_redeliver_sends_the_same_event_again(org_a, receiver, incident):
    receiver.replies = [Reply(400, "bad")]
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    assert delivery.deliver(row.pk) == "failed"
    assert delivery.redeliver([row]) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
    assert delivery.deliver(row.pk) == "delivered"
    first, second = receiver.requests
    assert first.body == second.body
    assert second.headers["x-alert24-delivery-attempt"] == "2"
    assert list(row.attempt_log.values_list("number", "succeeded")) == [(1, False), (2, True)]


def test_test_event_reaches_even_a_disabled_endpoint(org_a, receiver):
    hook = receiver.endpoint(org_a, event_types=["monitor.down"], enabled=False)
    row = delivery.send_test_event(hook)
    assert delivery.deliver(row.pk) == "delivered"
    (request,) = receiver.requests
    assert request.headers["x-alert24-event"] == "ping"
    assert request.json()["data"]["endpoint"]["url"] == hook.url
    assert receiver.verified == [True]


def test_dispatch_hands_due_rows_over_once_and_reaps_dead_claims(
    org_a, receiver, incident, django_capture_on_commit_callbacks
):
    hook = receiver.endpoint(org_a, event_types=["incident.resolved"])
    lifecycle.resolve(incident, None)
    (row,) = deliveries(hook)
    with django_capture_on_commit_callbacks() as callbacks:
        assert delivery.dispatch() == 1
        assert delivery.dispatch() == 0  # already handed over, not yet stale
    assert len(callbacks) == 1
    # A worker claimed it and died mid-request.
    WebhookDelivery.objects.filter(pk=row.pk).update(
        status="sending", claimed_at=timezone.now() - dt.timedelta(minutes=10)
    )
    assert delivery.reap_abandoned_claims() == 1
    row.refresh_from_db()
    assert row.status == "pending" and "worker stopped" in row.last_error
    assert delivery.deliver(row.pk) == "delivered"


def test_old_events_and_their_log_are_deleted(org_a, receiver, incident):
    hook = receiver.endpoint(org_a, event_types=["incident.acknowledged", "incident.resolved"])
    lifecycle.acknowledge(incident, None)
    (old,) = deliveries(hook)
    delivery.deliver(old.pk)
    WebhookEvent.objects.filter(pk=old.event_id).update(
        created_at=timezone.now() - dt.timedelta(days=100)
    )
    lifecycle.resolve(incident, None)
    assert delivery.delete_old_events(days=90) == 1
    assert [d.event.event_type for d in deliveries(hook)] == ["incident.resolved"]
    assert not WebhookAttempt.objects.exists()


def test_body_is_compact_utf8_json(org_a, receiver):
    hook = receiver.endpoint(org_a, event_types=["incident.triggered"])
    lifecycle.open_incident(service(org_a, name="Zahlungen"), "Kasse gestört ☂")
    (row,) = deliveries(hook)
    delivery.deliver(row.pk)
    (request,) = receiver.requests
    assert "Kasse gestört ☂".encode() in request.body
    assert json.loads(request.body)["data"]["incident"]["title"] == "Kasse gestört ☂"
