"""The PagerDuty Events API v2 contract at /v2/enqueue (and /v2/change/enqueue)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django_celery_beat.models import PeriodicTask

from accounts.api import throttling
from accounts.models import UserActivityLog
from incidents import events, events_views, lifecycle
from incidents.models import Incident, IncidentNotification, IncidentUpdate, ServiceIntegration
from tests.incidents.factories import member, policy, service

pytestmark = pytest.mark.django_db


@pytest.fixture
def routing(org_a):
    responder = member(org_a, "oncall@example.com")
    svc = service(org_a, policy(org_a, [[responder]]), name="Checkout")
    return ServiceIntegration.objects.create(organization=org_a, service=svc)


def send(body, path="/v2/enqueue", content_type="application/json"):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return Client().post(path, raw, content_type=content_type)


def trigger(routing, summary="CPU high", severity="critical", **extra):
    payload = {"summary": summary, "source": "web-1", "severity": severity}
    payload.update(extra.pop("payload", {}))
    return {
        "routing_key": routing.integration_key,
        "event_action": "trigger",
        "payload": payload,
        **extra,
    }


def action(routing, event_action, dedup_key):
    return {
        "routing_key": routing.integration_key,
        "event_action": event_action,
        "dedup_key": dedup_key,
    }


def sweep():
    from incidents import engine

    engine.sweep()


def test_trigger_without_dedup_key_opens_an_incident_and_returns_a_generated_key(routing):
    response = send(
        trigger(
            routing,
            links=[{"href": "https://grafana/x", "text": "Graph"}],
            payload={"component": "db", "custom_details": {"load": 9.5}},
        )
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "success" and body["message"] == "Event processed"
    assert len(body["dedup_key"]) == 32
    incident = Incident.objects.get(dedup_key=body["dedup_key"])
    assert incident.service == routing.service and incident.title == "CPU high"
    assert incident.source == "events" and incident.severity == "critical"
    assert incident.details["payload"]["custom_details"] == {"load": 9.5}
    assert incident.details["links"][0]["href"] == "https://grafana/x"


@pytest.mark.parametrize(
    ("pagerduty", "ours"),
    [("critical", "critical"), ("error", "high"), ("warning", "medium"), ("info", "info")],
)
def test_severities_map_to_ours(routing, pagerduty, ours):
    key = send(trigger(routing, severity=pagerduty)).json()["dedup_key"]
    assert Incident.objects.get(dedup_key=key).severity == ours


def test_same_dedup_key_folds_into_the_open_incident(routing):
    first = send(trigger(routing, dedup_key="disk/db1"))
    second = send(trigger(routing, summary="Still full", dedup_key="disk/db1"))
    assert first.json()["dedup_key"] == second.json()["dedup_key"] == "disk/db1"
    incident = Incident.objects.get(dedup_key="disk/db1")
    assert Incident.objects.filter(service=routing.service).count() == 1
    assert incident.updates.filter(update_type="dedup").count() == 1


def test_acknowledge_then_trigger_does_not_notify_again_and_resolve_then_trigger_reopens(routing):
    send(trigger(routing, dedup_key="k1"))
    incident = Incident.objects.get(dedup_key="k1")
    sweep()
    pages = IncidentNotification.objects.filter(incident=incident).count()
    assert pages == 1
    acked = send(action(routing, "acknowledge", "k1"))
    assert acked.status_code == 202 and acked.json()["dedup_key"] == "k1"
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    send(trigger(routing, dedup_key="k1"))
    sweep()
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert IncidentNotification.objects.filter(incident=incident).count() == pages
    resolved = send(action(routing, "resolve", "k1"))
    assert resolved.status_code == 202 and resolved.json()["dedup_key"] == "k1"
    incident.refresh_from_db()
    assert incident.status == "resolved"
    send(trigger(routing, dedup_key="k1"))
    assert Incident.objects.filter(dedup_key="k1").count() == 2
    assert Incident.objects.filter(dedup_key="k1", status="triggered").count() == 1


def test_acknowledge_or_resolve_of_an_unknown_key_is_accepted_and_does_nothing(routing):
    for event_action in ("acknowledge", "resolve"):
        response = send(action(routing, event_action, "never-seen"))
        assert response.status_code == 202 and response.json()["dedup_key"] == "never-seen"
    assert not Incident.objects.exists()


def _unrecognized(response):
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "Unrecognized object"
    assert body["message"] == "Event object format is unrecognized"
    assert body["errors"]


def _invalid(response, fragment):
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert any(fragment in error for error in body["errors"]), body["errors"]


def test_malformed_bodies_are_400_unrecognized(routing):
    _unrecognized(send(b"{not json"))
    _unrecognized(send(b"\xff\xfe"))
    _unrecognized(send([trigger(routing)]))
    _unrecognized(send(json.dumps(trigger(routing)), content_type="text/plain"))
    _unrecognized(
        send(json.dumps(trigger(routing)), content_type="application/x-www-form-urlencoded")
    )
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"payload": {"source": "x", "severity": "critical"}}, "'payload.summary' is missing"),
        ({"payload": {"summary": "  ", "source": "x", "severity": "error"}}, "'payload.summary'"),
        ({"payload": {"summary": "x", "source": "x", "severity": "major"}}, "'payload.severity'"),
        ({"payload": {"summary": "x", "severity": "info"}}, "'payload.source' is missing"),
        ({"payload": {"summary": 5, "source": "x", "severity": "info"}}, "must be a string"),
        ({"payload": "oops"}, "'payload'"),
        (
            {
                "payload": {
                    "summary": "x",
                    "source": "s",
                    "severity": "info",
                    "timestamp": "yesterday",
                }
            },
            "'payload.timestamp'",
        ),
        ({"event_action": "explode"}, "'event_action' is invalid"),
        ({"event_action": None}, "'event_action' is missing"),
        ({"routing_key": "short"}, "Length of 'routing_key'"),
        ({"routing_key": None}, "'routing_key' is missing"),
        ({"dedup_key": "x" * 256}, "'dedup_key' is too long"),
        ({"links": [{"text": "no href"}]}, "'links'"),
        ({"images": "x"}, "'images'"),
    ],
)
def test_invalid_events_are_400_and_write_nothing(routing, change, fragment):
    body = trigger(routing)
    for name, value in change.items():
        body[name] = value
    _invalid(send(body), fragment)
    assert not Incident.objects.exists() and not IncidentUpdate.objects.exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"payload": {"summary": "disk\u0000full", "source": "x", "severity": "error"}},
         "'payload.summary' contains a NUL character"),
        ({"dedup_key": "key\u0000"}, "'dedup_key' contains a NUL"),
        ({"payload": {"summary": "x", "source": "x", "severity": "error",
                      "custom_details": {"nested": [{"k\u0000": 1}]}}},
         "'payload.custom_details.nested[0].k\\u0000' contains a NUL"),
    ],
)  # fmt: skip
def test_nul_characters_are_400_naming_the_field(routing, change, fragment):
    """PostgreSQL cannot store U+0000 in text or jsonb: refused up front, not a 500."""
    body = trigger(routing)
    body.update(change)
    _invalid(send(body), fragment)
    assert not Incident.objects.exists()


def test_nan_infinity_and_absurd_nesting_are_400_unrecognized(routing):
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        raw = json.dumps(trigger(routing)).encode()[:-1] + b', "extra": ' + constant + b"}"
        _unrecognized(send(raw))
    deep = (
        json.dumps(trigger(routing)).encode()[:-1]
        + b', "extra": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    _unrecognized(send(deep))
    assert not Incident.objects.exists()
    assert send(trigger(routing)).status_code == 202  # the normal case still works


def test_acknowledge_and_resolve_need_a_dedup_key(routing):
    for event_action in ("acknowledge", "resolve"):
        body = {"routing_key": routing.integration_key, "event_action": event_action}
        _invalid(send(body), "'dedup_key' is missing")


def test_unknown_routing_key_is_400_invalid_routing_key(routing):
    body = trigger(routing)
    body["routing_key"] = "0" * 32
    _invalid(send(body), "Invalid routing key")


def test_bodies_over_512_kb_are_refused(routing):
    big = trigger(routing, payload={"custom_details": {"blob": "x" * (512 * 1024)}})
    _invalid(send(big), "too large")
    fits = trigger(routing, payload={"custom_details": {"blob": "x" * (400 * 1024)}})
    assert send(fits).status_code == 202


def test_only_post_is_allowed(routing):
    assert Client().get("/v2/enqueue").status_code == 405


@pytest.mark.parametrize(
    "path", ["/v2/enqueue", "/v2/change/enqueue", "/integrations/alertmanager/" + "a" * 32]
)
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_get_a_json_405_with_allow(path, method):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json" and response["Allow"] == "POST"
    assert response.json() == {"status": "method not allowed", "message": "Send events with POST."}


def test_rate_limit_per_routing_key_is_429_with_retry_after(routing, org_a, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "600/min", "events": "3/min"},
    }
    statuses = [send(trigger(routing, dedup_key="same")).status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    response = send(trigger(routing, dedup_key="same"))
    assert response.json()["status"] == "throttle event"
    assert 1 <= int(response["Retry-After"]) <= 61
    other = ServiceIntegration.objects.create(organization=org_a, service=routing.service)
    assert send(trigger(other)).status_code == 202  # per key


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    yield
    throttling._down_until = 0.0
    events_views.rate_limit.down_until = 0.0
    lifecycle._kick_redis_down_until = 0.0


def test_ingest_works_while_redis_is_down(routing, redis_down):
    response = send(trigger(routing, dedup_key="no-redis"))
    assert response.status_code == 202
    assert Incident.objects.filter(dedup_key="no-redis").exists()


def test_disabled_service_accepts_and_drops_the_event(routing):
    routing.service.status = "disabled"
    routing.service.save()
    assert send(trigger(routing)).status_code == 202
    assert not Incident.objects.exists()
    assert UserActivityLog.objects.filter(activity_type="events.dropped").count() == 1


def test_change_events_are_recorded_against_the_service(routing):
    body = {
        "routing_key": routing.integration_key,
        "payload": {
            "summary": "Deployed v42",
            "source": "ci",
            "timestamp": "2026-11-25T10:00:00Z",
            "custom_details": {"sha": "abc"},
        },
        "links": [{"href": "https://ci/42", "text": "Build"}],
    }
    response = send(body, path="/v2/change/enqueue")
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Change event processed"}
    entry = UserActivityLog.objects.get(activity_type="events.change")
    assert entry.object_id == routing.service.pk and entry.description == "Deployed v42"
    _invalid(
        send({"routing_key": routing.integration_key, "payload": {}}, path="/v2/change/enqueue"),
        "'payload.summary'",
    )
    assert not Incident.objects.exists()


def test_alertmanager_pagerduty_configs_replay(routing):
    """What Alertmanager's pagerduty_configs sends: trigger/resolve, sha256(groupKey), no
    timestamp, null-free payload with custom_details of strings."""
    group_key = '{}/{severity="page"}:{alertname="HighLatency"}'
    dedup_key = hashlib.sha256(group_key.encode()).hexdigest()
    firing = {
        "routing_key": routing.integration_key,
        "dedup_key": dedup_key,
        "event_action": "trigger",
        "payload": {
            "summary": "[FIRING:1] HighLatency (api page)",
            "source": "Alertmanager",
            "severity": "critical",
            "custom_details": {
                "firing": "Labels:\n - alertname = HighLatency\n",
                "num_firing": "1",
                "num_resolved": "0",
                "resolved": "",
            },
        },
        "client": "Alertmanager",
        "client_url": "http://alertmanager:9093/#/alerts?receiver=pagerduty",
        "links": [{"href": "http://prometheus:9090/graph", "text": "Source"}],
    }
    first = send(firing)
    assert first.status_code == 202 and first.json()["dedup_key"] == dedup_key
    assert send(firing).status_code == 202  # Alertmanager repeats on repeat_interval
    incident = Incident.objects.get(dedup_key=dedup_key)
    assert incident.title == "[FIRING:1] HighLatency (api page)"
    resolved = dict(firing, event_action="resolve")
    assert send(resolved).status_code == 202
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert Incident.objects.filter(dedup_key=dedup_key).count() == 1


def test_another_organizations_key_never_touches_its_incident(routing, org_b):
    """The routing key picks the organization; the write runs under its RLS scope."""
    theirs = ServiceIntegration.objects.create(
        organization=org_b, service=service(org_b, name="Theirs")
    )
    send(trigger(theirs, dedup_key="shared"))
    assert send(action(routing, "resolve", "shared")).status_code == 202
    assert Incident.objects.get(organization=org_b, dedup_key="shared").status == "triggered"
    send(trigger(routing, dedup_key="shared"))
    ours = Incident.objects.get(organization=routing.organization, dedup_key="shared")
    assert ours.service == routing.service and ours.updates.filter(update_type="dedup").count() == 0


def test_events_skip_the_session_stack(routing, client):
    """Answered before sessions and CSRF: no cookie is set, a browser cookie changes nothing."""
    client.cookies["sessionid"] = "whatever"
    response = client.post(
        "/v2/enqueue", json.dumps(trigger(routing)), content_type="application/json"
    )
    assert response.status_code == 202 and "Set-Cookie" not in response
    assert int(response["Content-Length"]) == len(response.content)
    assert (
        send(trigger(routing), content_type="application/json", path="/v2/enqueue/").status_code
        == 404
    )


def test_applying_restores_the_callers_role_and_scope(routing):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('app.current_organization_id', true)")
        before = cursor.fetchone()
        applied = events.apply(routing.integration_key, "trigger", dedup_key="x", title="Down")
        cursor.execute("SELECT current_user, current_setting('app.current_organization_id', true)")
        assert cursor.fetchone() == before
    assert applied.created and Incident.objects.get(pk=applied.incident_id).dedup_key == "x"
    assert events.apply("0" * 32, "trigger", dedup_key="x", title="Down") is None


def test_rate_limit_is_counted_in_redis_in_slices(routing, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "600/min", "events": "10000/min"},
    }
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for _ in range(3):
        assert send(trigger(routing, dedup_key="sliced")).status_code == 202
    window = int(time.time() // 60)
    counted = client.get(f"alert24:throttle:events:{routing.integration_key}:{window}")
    assert int(counted) == 10000 // 500  # one slice reserved, three events spent from it


@pytest.fixture
def kick_state():
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.delete(*lifecycle._KICK_KEYS)
    lifecycle._kick_covered_until = 0.0
    yield client
    client.delete(*lifecycle._KICK_KEYS)
    lifecycle._kick_covered_until = 0.0


def test_escalation_kicks_are_debounced_to_one_now_and_one_trailing(kick_state):
    queue = django_settings.NOTIFICATIONS_QUEUE
    queued = kick_state.llen(queue)
    for _ in range(5):
        lifecycle.kick_escalation_sweep()
    messages = [
        json.loads(m) for m in kick_state.lrange(queue, 0, kick_state.llen(queue) - queued - 1)
    ]
    assert len(messages) == 2
    etas = sorted(bool(m["headers"].get("eta")) for m in messages)
    assert etas == [False, True]  # one sweep now, one after the window
    kick_state.delete(*lifecycle._KICK_KEYS)
    lifecycle._kick_covered_until = 0.0
    lifecycle.kick_escalation_sweep()
    assert kick_state.llen(queue) == queued + 3  # a new window kicks at once again


def test_beat_applies_waiting_events_as_the_safety_net():
    # Registered by a migration (test_event_inbox.py shows what it does; it flushes tables).
    task = PeriodicTask.objects.get(task="incidents.apply_event_inbox")
    assert task.enabled and (task.interval.every, task.interval.period) == (30, "seconds")
