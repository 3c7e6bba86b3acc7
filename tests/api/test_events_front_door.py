"""The WSGI front door answers event posts as the full stack would, and hands everything
else to Django untouched."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import Organization
from incidents import event_inbox, events
from incidents.events_views import EventsFrontDoor
from incidents.models import Incident, ServiceIntegration
from tests.incidents.factories import member, policy, service
from tests.wsgi_calls import CountingDjango, call

# Events on the front door go to the inbox and are applied by another connection (the
# applier thread, or apply_waiting() here): committed data, not the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def post(app, path: str, body: dict | bytes = b"", method: str = "POST", host: str = "127.0.0.1"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(app, path, method=method, body=raw, content_type="application/json", host=host)


@pytest.fixture
def routing():
    organization = Organization.objects.create(name="Acme", slug="acme")
    responder = member(organization, "oncall@example.com")
    svc = service(organization, policy(organization, [[responder]]), name="Checkout")
    return ServiceIntegration.objects.create(organization=organization, service=svc)


@pytest.fixture
def django_app():
    return CountingDjango()


def trigger(routing, dedup_key: str) -> dict:
    return {
        "routing_key": routing.integration_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }


def test_an_event_is_answered_without_django_and_as_the_stack_answers(routing, django_app):
    door = EventsFrontDoor(django_app)
    full = Client().post("/v2/enqueue", trigger(routing, "a"), content_type="application/json")

    status, headers, body = post(door, "/v2/enqueue", trigger(routing, "b"))

    assert django_app.calls == 0
    assert status == "202 Accepted"
    assert json.loads(body) == {**full.json(), "dedup_key": "b"}
    for name in ["Content-Type", "X-Content-Type-Options", "Referrer-Policy"]:
        assert headers[name] == full[name], name
    assert headers["Content-Length"] == str(len(body))
    event_inbox.apply_waiting()  # the 202 means accepted; applied a moment later
    assert Incident.objects.filter(service=routing.service, dedup_key="b").exists()

    full = Client().post("/v2/enqueue", {"routing_key": "x"}, content_type="application/json")
    status, _, body = post(door, "/v2/enqueue", {"routing_key": "x"})
    assert (status, json.loads(body)) == ("400 Bad Request", full.json())

    alert = {"version": "4", "status": "firing", "groupKey": '{}:{a="b"}', "alerts": []}
    status, _, body = post(door, f"/integrations/alertmanager/{routing.integration_key}", alert)
    assert status == "200 OK" and json.loads(body)["status"] == "success"
    assert django_app.calls == 0


def test_everything_else_goes_to_django(routing, django_app):
    door = EventsFrontDoor(django_app)

    assert post(door, "/v2/enqueue", trigger(routing, "c"), host="evil.example")[0].startswith(
        "400"
    )
    assert django_app.calls == 1  # the disallowed host got Django's own answer
    event_inbox.apply_waiting()
    assert not Incident.objects.filter(dedup_key="c").exists()

    assert post(door, "/v2/enqueue", method="GET")[0].startswith("405")
    assert django_app.calls == 2

    assert post(door, "/v2/not-an-endpoint", trigger(routing, "d"))[0].startswith("404")
    assert django_app.calls == 3


def test_an_error_in_the_view_gets_djangos_error_response(routing, django_app, monkeypatch):
    def broken(event):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(events, "apply_event", broken)
    status, _, _ = post(EventsFrontDoor(django_app), "/v2/enqueue", trigger(routing, "e"))
    assert status.startswith("500") and django_app.calls == 0
