"""Fixtures for outgoing-webhook tests: endpoints, and a real receiver on 127.0.0.1 that
checks every request's signature the way the README tells integrators to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from tests.channels.servers import Recorded, RecordingServer, Reply
from webhooks import signing
from webhooks.models import WebhookDelivery, WebhookEndpoint

ALL_TYPES = [
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reassigned",
    "incident.escalated",
    "monitor.down",
    "monitor.up",
    "status_page.incident_updated",
]


class Receiver(RecordingServer):
    """Answers with ``replies`` in turn (then 200), and records whether each signature held."""

    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies = list(replies or [])
        self.secrets: dict[str, str] = {}  # path -> endpoint secret
        self.verified: list[bool] = []
        super().__init__(self.answer)

    def answer(self, request: Recorded) -> Reply:
        secret = self.secrets.get(request.path, "")
        self.verified.append(
            signing.verify(request.headers.get("x-alert24-signature", ""), request.body, secret)
        )
        return self.replies.pop(0) if self.replies else Reply(200, "thanks")

    def endpoint(self, organization, path: str = "/hook", **fields) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            organization=organization,
            url=self.url + path,
            event_types=fields.pop("event_types", ALL_TYPES),
            **fields,
        )
        endpoint.full_clean()
        endpoint.save()
        self.secrets[path] = endpoint.secret
        return endpoint


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.NOTIFICATION_HTTP_TIMEOUT = 2.0
    settings.SITE_URL = "https://alert24.example.com"
    return settings


@pytest.fixture
def receiver(webhook_settings) -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def commit_point() -> None:
    """What COMMIT does first: run the deferred triggers (the test transaction never commits)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .order_by("event__created_at")
    )


def event_types(endpoint: WebhookEndpoint) -> list[str]:
    return [d.event.event_type for d in deliveries(endpoint)]
