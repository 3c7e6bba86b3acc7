"""Through a real Celery worker: committed changes reach the receiver, a 500 is retried,
and one organization's endpoint never hears of another's incidents."""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from incidents import lifecycle
from tests.channels.servers import Reply
from tests.child_processes import start_worker, stop_worker
from tests.incidents.factories import service
from webhooks import delivery
from webhooks.models import WebhookDelivery

from .conftest import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.fixture
def worker_queue(webhook_settings):
    webhook_settings.WEBHOOKS_QUEUE = f"test-webhooks-{uuid.uuid4().hex[:8]}"
    process = start_worker(
        [webhook_settings.WEBHOOKS_QUEUE],
        pool="solo",
        env={"WEBHOOK_ALLOW_PRIVATE_TARGETS": "true", "SITE_URL": webhook_settings.SITE_URL},
    )
    yield webhook_settings.WEBHOOKS_QUEUE
    stop_worker(process)


def test_worker_delivers_retries_and_keeps_organizations_apart(worker_queue, org_a, org_b):
    with Receiver([Reply(500, "try later")]) as receiver_a, Receiver() as receiver_b:
        hook_a = receiver_a.endpoint(org_a, event_types=["incident.triggered", "incident.resolved"])
        hook_b = receiver_b.endpoint(org_b, event_types=["incident.triggered", "incident.resolved"])
        incident = lifecycle.open_incident(service(org_a, name="Payments"), "Checkout").incident
        lifecycle.resolve(incident, None)
        # A monitoring alert opened in SQL by the owner's session, committed (a psql user).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT incident_id FROM open_incident(%s, 'Disk full')",
                [service(org_b, name="Storage").pk],
            )

        assert delivery.dispatch() == 3  # the beat sweep hands them to the worker
        rows = WebhookDelivery.objects.filter(endpoint=hook_a)
        wait_for(lambda: len(receiver_a.requests) == 2 and len(receiver_b.requests) == 1)
        wait_for(lambda: not rows.filter(status="sending").exists())
        # One of A's first two tries got the 500 and waits its back-off.
        assert sorted(rows.values_list("status", flat=True)) == ["delivered", "pending"]
        retry = rows.get(status="pending")
        assert retry.last_status_code == 500
        WebhookDelivery.objects.filter(pk=retry.pk).update(next_attempt_at=retry.created_at)
        assert delivery.dispatch() == 1
        wait_for(lambda: rows.filter(status="delivered").count() == 2)

        assert receiver_a.verified == [True, True, True] and receiver_b.verified == [True]
        types_a = {r.headers["x-alert24-event"] for r in receiver_a.requests}
        assert types_a == {"incident.triggered", "incident.resolved"}
        assert all(r.json()["organization"]["slug"] == "acme" for r in receiver_a.requests)
        (only_b,) = receiver_b.requests
        assert only_b.json()["organization"]["slug"] == "globex"
        assert only_b.json()["data"]["incident"]["title"] == "Disk full"
        assert retry.attempt_log.count() == 2
        assert WebhookDelivery.objects.filter(endpoint=hook_b).count() == 1
