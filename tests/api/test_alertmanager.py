"""Alertmanager's webhook_config (version 4) at /integrations/alertmanager/<key>."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from incidents.models import Incident, ServiceIntegration
from tests.incidents.factories import service

pytestmark = pytest.mark.django_db

GROUP_KEY = '{}/{}:{alertname="DiskFull", cluster="eu1"}'


@pytest.fixture
def hook(org_a):
    svc = service(org_a, name="Storage")
    integration = ServiceIntegration.objects.create(
        organization=org_a, service=svc, kind="alertmanager", name="Prometheus"
    )
    return f"/integrations/alertmanager/{integration.integration_key}"


def notification(status="firing", count=2, **extra):
    alert = {
        "status": status,
        "labels": {"alertname": "DiskFull", "cluster": "eu1", "instance": "db1"},
        "annotations": {"summary": "Disk almost full on db1"},
        "startsAt": "2026-11-25T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-25T11:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
        "fingerprint": "c0ffee",
    }
    body = {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "alert24",
        "groupLabels": {"alertname": "DiskFull", "cluster": "eu1"},
        "commonLabels": {"alertname": "DiskFull", "cluster": "eu1", "severity": "warning"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            dict(alert, labels={**alert["labels"], "instance": f"db{i}"}) for i in range(count)
        ],
    }
    body.update(extra)
    return body


def post(url, body):
    return Client().post(url, json.dumps(body), content_type="application/json")


def test_firing_opens_one_incident_per_group_and_resolved_resolves_it(hook):
    first = post(hook, notification())
    assert first.status_code == 200
    dedup_key = hashlib.sha256(GROUP_KEY.encode()).hexdigest()
    assert first.json()["dedup_key"] == dedup_key
    incident = Incident.objects.get(dedup_key=dedup_key)
    assert incident.source == "alertmanager" and incident.severity == "medium"
    assert incident.title == "[FIRING:2] DiskFull (eu1)"
    assert incident.details["groupKey"] == GROUP_KEY
    assert post(hook, notification(count=3)).status_code == 200
    assert Incident.objects.filter(dedup_key=dedup_key).count() == 1
    assert incident.updates.filter(update_type="dedup").count() == 1
    assert post(hook, notification("resolved")).status_code == 200
    incident.refresh_from_db()
    assert incident.status == "resolved"
    post(hook, notification())
    assert Incident.objects.filter(dedup_key=dedup_key, status="triggered").count() == 1


def test_summary_annotation_and_severity_label_are_used(hook):
    body = notification(
        count=1,
        commonAnnotations={"summary": "Disk full", "description": "92%"},
        commonLabels={"severity": "critical"},
    )
    post(hook, body)
    incident = Incident.objects.get()
    assert (incident.title, incident.description, incident.severity) == (
        "Disk full",
        "92%",
        "critical",
    )


def test_resolved_for_an_unknown_group_is_accepted(hook):
    assert post(hook, notification("resolved")).status_code == 200
    assert not Incident.objects.exists()


def test_webhook_and_pagerduty_configs_share_the_group_incident(hook, org_a):
    post(hook, notification())
    events_key = ServiceIntegration.objects.get().integration_key
    body = {
        "routing_key": events_key,
        "event_action": "resolve",
        "dedup_key": hashlib.sha256(GROUP_KEY.encode()).hexdigest(),
    }
    Client().post("/v2/enqueue", json.dumps(body), content_type="application/json")
    assert Incident.objects.get().status == "resolved"


@pytest.mark.parametrize(
    "change",
    [
        {"status": "burning"},
        {"groupKey": ""},
        {"alerts": "x"},
        {"version": "3"},
        {"commonLabels": []},
        {"groupKey": '{}:{alertname="Disk\u0000"}'},
        {"commonAnnotations": {"summary": "NUL \u0000 in an annotation"}},
    ],
)
def test_bad_notifications_are_400(hook, change):
    response = post(hook, notification(**change))
    assert response.status_code == 400 and response.json()["errors"]
    assert not Incident.objects.exists()


def test_unknown_key_is_404_and_bad_json_400(hook):
    assert post("/integrations/alertmanager/" + "0" * 32, notification()).status_code == 404
    response = Client().post(hook, b"nope", content_type="application/json")
    assert response.status_code == 400
