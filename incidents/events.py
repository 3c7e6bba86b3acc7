"""Events from monitoring tools: PagerDuty Events API v2 and Alertmanager webhooks.

The rules are PagerDuty's, so that any tool which can page PagerDuty can page Alertmanager
… Alert24, by changing a URL:

* An event is routed by ``routing_key``: the 32-character ``integration_key`` of one of a
  service's integrations.
* ``trigger`` opens an incident, or folds into the open incident of that service with the
  same ``dedup_key`` (recorded on its timeline as a duplicate; an acknowledged incident
  stays acknowledged and nobody is paged again). Without a ``dedup_key`` one is generated
  and returned. After a resolve, the same key opens a new incident.
* ``acknowledge`` and ``resolve`` act on the open incident with that ``dedup_key``; if
  there is none they are accepted and do nothing, as PagerDuty does.
* Severities map critical→critical, error→high, warning→medium, info→info.

The work happens in the request's transaction: what makes an accepted event durable (the
incident or its timeline row) is written before the 202 goes out, and an event that fails
validation writes nothing. The database function ``open_incident()`` does the
dedup-or-insert atomically, so concurrent events with one key make one incident.

Parsing and validation are plain functions of bytes, so they are tested without HTTP; the
views in ``incidents/events_views.py`` add the routing, the rate limit and the responses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from accounts.api.authentication import enter_organization
from accounts.models import UserActivityLog
from incidents import lifecycle
from incidents.models import Incident, Severity

MAX_EVENT_BYTES = 512 * 1024
MAX_ALERTMANAGER_BYTES = 2 * 1024 * 1024
ACTIONS = ("trigger", "acknowledge", "resolve")
PAGERDUTY_SEVERITY = {
    "critical": Severity.CRITICAL,
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.INFO,
}
# Alertmanager's ``severity`` label is free text; these are the spellings people use.
LABEL_SEVERITY = {
    **PAGERDUTY_SEVERITY,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "page": Severity.CRITICAL,
    "warn": Severity.MEDIUM,
    "none": Severity.INFO,
}


class EventRejected(Exception):
    """The request cannot be an event; ``body`` is PagerDuty's error response."""

    def __init__(self, errors: list[str], *, unrecognized: bool = False) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        if unrecognized:
            status, message = "Unrecognized object", "Event object format is unrecognized"
        else:
            status, message = "invalid event", "Event object is invalid"
        self.body = {"status": status, "message": message, "errors": errors}


# --- Parsing -----------------------------------------------------------------------------


def parse_json_object(raw: bytes, content_type: str, limit: int = MAX_EVENT_BYTES) -> dict:
    """The request body as a JSON object, or EventRejected (never another exception)."""
    if len(raw) > limit:
        raise EventRejected([f"Event object is too large (at most {limit // 1024} KB)"])
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise EventRejected(["Content-Type must be application/json"], unrecognized=True)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise EventRejected(["Body is not valid JSON"], unrecognized=True) from None
    if not isinstance(body, dict):
        raise EventRejected(["Body must be a JSON object"], unrecognized=True)
    return body


def _text(body: dict, name: str, errors: list[str], *, required: bool, path: str = "") -> str:
    value = body.get(name)
    label = f"'{path}{name}'"
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"{label} is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"{label} must be a string")
        return ""
    return value


def _links(body: dict, name: str, url_field: str, errors: list[str]) -> list[dict]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get(url_field), str) for item in value
    ):
        errors.append(f"'{name}' must be a list of objects with a string '{url_field}'")
        return []
    return value


def _routing_key(body: dict, errors: list[str]) -> str:
    key = _text(body, "routing_key", errors, required=True)
    if key and len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    return key


@dataclass
class Event:
    routing_key: str
    action: str
    dedup_key: str | None
    summary: str = ""
    severity: str = Severity.HIGH
    details: dict[str, Any] = field(default_factory=dict)


def validate_event(body: dict) -> Event:
    """An Events API v2 event from its JSON body; every problem reported at once."""
    errors: list[str] = []
    routing_key = _routing_key(body, errors)
    action = _text(body, "event_action", errors, required=True)
    if action and action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = _text(body, "dedup_key", errors, required=action in ("acknowledge", "resolve"))
    if len(dedup_key) > 255:
        errors.append("Length of 'dedup_key' is too long (at most 255 characters)")
    event = Event(routing_key, action, dedup_key or None)
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        summary = _text(payload, "summary", errors, required=True, path="payload.")
        _text(payload, "source", errors, required=True, path="payload.")
        severity = _text(payload, "severity", errors, required=True, path="payload.")
        if severity and severity not in PAGERDUTY_SEVERITY:
            errors.append(
                "'payload.severity' is invalid (must be one of critical, error, warning, info)"
            )
        timestamp = _text(payload, "timestamp", errors, required=False, path="payload.")
        if timestamp and _parse_timestamp(timestamp) is None:
            errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date and time)")
        for name in ("component", "group", "class"):
            _text(payload, name, errors, required=False, path="payload.")
        event.summary = summary[:1024]
        event.severity = PAGERDUTY_SEVERITY.get(severity, Severity.HIGH)
        event.details = {
            "payload": payload,
            "links": _links(body, "links", "href", errors),
            "images": _links(body, "images", "src", errors),
            "client": _text(body, "client", errors, required=False),
            "client_url": _text(body, "client_url", errors, required=False),
        }
    if errors:
        raise EventRejected(errors)
    return event


def validate_change_event(body: dict) -> tuple[str, dict]:
    """(routing key, the event) of a v2 change event."""
    errors: list[str] = []
    routing_key = _routing_key(body, errors)
    payload = body.get("payload")
    if not isinstance(payload, dict):
        errors.append("'payload' is missing or not an object")
        payload = {}
    _text(payload, "summary", errors, required=True, path="payload.")
    _text(payload, "source", errors, required=False, path="payload.")
    timestamp = _text(payload, "timestamp", errors, required=False, path="payload.")
    if timestamp and _parse_timestamp(timestamp) is None:
        errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date and time)")
    links = _links(body, "links", "href", errors)
    images = _links(body, "images", "src", errors)
    if errors:
        raise EventRejected(errors)
    return routing_key, {"payload": payload, "links": links, "images": images}


def _parse_timestamp(value: str) -> dt.datetime | None:
    # Lenient like PagerDuty: "…+00:00Z" (what some clients send) reads as UTC too.
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        body = text[:-1]
        has_offset = len(body) >= 6 and body[-6] in "+-" and body[-3] == ":"
        text = body if has_offset else body + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


# --- Routing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    integration_id: uuid.UUID
    service_id: uuid.UUID
    organization_id: uuid.UUID
    kind: str
    service_active: bool


def route(integration_key: str) -> Route | None:
    """The service an integration key belongs to, found on the narrow system path.

    The request is nobody's member, so it cannot see ``service_integrations`` under row-
    level security; the SECURITY DEFINER function answers this one question. The caller
    then acts inside the route's organization (:func:`enter_route`).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT integration_id, service_id, organization_id, kind, service_status"
            " FROM service_for_integration_key(%s)",
            [integration_key],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Route(row[0], row[1], row[2], row[3], row[4] == "active")


def enter_route(found: Route) -> None:
    """Act for the route's organization for the rest of this transaction (RLS applies)."""
    enter_organization(found.organization_id, None)


# --- Acting ------------------------------------------------------------------------------


def trigger(
    found: Route,
    *,
    title: str,
    severity: str,
    dedup_key: str,
    source: str,
    details: dict,
    description: str = "",
) -> tuple[uuid.UUID | None, bool]:
    """Open or dedup into an incident; returns (incident id, created).

    Calls the SQL ``open_incident()`` directly rather than ``lifecycle.open_incident``:
    this is the ingest hot path and the route already says the service is active, so the
    two extra queries (load the service, reload the incident) buy nothing. A disabled
    service drops the event, as PagerDuty does, and the audit log says so.
    """
    if not found.service_active:
        _audit(found, "events.dropped", f"Event for a disabled service: {title[:200]}", details)
        return None, False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT incident_id, created FROM open_incident(%s, %s, %s, %s, %s, %s, %s::jsonb)",
            [
                found.service_id,
                title,
                description,
                severity,
                dedup_key,
                source,
                json.dumps(details),
            ],
        )
        incident_id, created = cursor.fetchone()
    if created:
        # The page goes out at once; the beat sweep is the safety net if Redis is down.
        transaction.on_commit(lifecycle._kick_escalation_sweep)
    return incident_id, created


def change_open_incident(found: Route, dedup_key: str, action: str, reason: str) -> bool:
    """Acknowledge or resolve the open incident with ``dedup_key``; False if there is none."""
    incident = (
        Incident.objects.filter(service_id=found.service_id, dedup_key=dedup_key)
        .exclude(status=Incident.Status.RESOLVED)
        .first()
    )
    if incident is None:
        return False
    change = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve
    try:
        change(incident, None, reason)
    except lifecycle.IncidentClosed:
        return False  # resolved meanwhile by someone else: the event's goal is met
    return True


def apply_event(found: Route, event: Event) -> str:
    """Carry out a validated event for ``found``'s service; returns the dedup key."""
    if event.action == "trigger":
        dedup_key = event.dedup_key or uuid.uuid4().hex
        trigger(
            found,
            title=event.summary,
            severity=event.severity,
            dedup_key=dedup_key,
            source=Incident.Source.EVENTS,
            details=event.details,
        )
        return dedup_key
    change_open_incident(found, event.dedup_key or "", event.action, "via Events API")
    return event.dedup_key or ""


def record_change_event(found: Route, event: dict) -> None:
    """Change events (deploys, config changes) open nothing: they go to the audit log."""
    _audit(found, "events.change", event["payload"].get("summary", "")[:1000], event)


def _audit(found: Route, activity: str, description: str, metadata: dict) -> None:
    UserActivityLog.objects.create(
        organization_id=found.organization_id,
        activity_type=activity,
        object_type="service",
        object_id=found.service_id,
        description=description,
        metadata=metadata,
    )


# --- Alertmanager ------------------------------------------------------------------------


def alertmanager_dedup_key(group_key: str) -> str:
    """SHA-256 hex of the group key: what Alertmanager's own ``pagerduty_configs`` sends,
    so a group reaching Alert24 by either integration folds into the same incident."""
    return hashlib.sha256(group_key.encode()).hexdigest()


@dataclass
class AlertGroup:
    status: str
    group_key: str
    title: str
    severity: str
    details: dict


def validate_alertmanager(body: dict) -> AlertGroup:
    """An Alertmanager ``webhook_config`` notification (version 4)."""
    errors: list[str] = []
    version = body.get("version", "4")
    if version != "4":
        errors.append("'version' must be \"4\"")
    status = body.get("status")
    if status not in ("firing", "resolved"):
        errors.append("'status' must be firing or resolved")
    group_key = body.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        errors.append("'groupKey' is missing or blank")
    alerts = body.get("alerts")
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        errors.append("'alerts' must be a list of objects")
        alerts = []
    maps = {}
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        value = body.get(name)
        value = {} if value is None else value
        if not isinstance(value, dict):
            errors.append(f"'{name}' must be an object")
            value = {}
        maps[name] = value
    if errors:
        raise EventRejected(errors)
    firing = [a for a in alerts if a.get("status") == "firing"]
    common, annotations = maps["commonLabels"], maps["commonAnnotations"]
    title = str(annotations.get("summary") or "")
    if not title and len(alerts) == 1:
        title = str((alerts[0].get("annotations") or {}).get("summary") or "")
    if not title:
        labels = maps["groupLabels"] or common
        name = labels.get("alertname") or body.get("receiver") or "alert"
        rest = " ".join(f"{v}" for k, v in sorted(labels.items()) if k != "alertname")
        title = f"[FIRING:{len(firing) or len(alerts)}] {name}" + (f" ({rest})" if rest else "")
    severity = LABEL_SEVERITY.get(str(common.get("severity", "")).lower(), Severity.HIGH)
    return AlertGroup(status, group_key, title[:1024], severity, body)


def apply_alertmanager(found: Route, group: AlertGroup) -> tuple[str, uuid.UUID | None]:
    """Firing opens or updates the group's incident; resolved resolves it."""
    dedup_key = alertmanager_dedup_key(group.group_key)
    if group.status == "firing":
        description = str(group.details.get("commonAnnotations", {}).get("description") or "")
        incident_id, _created = trigger(
            found,
            title=group.title,
            severity=group.severity,
            dedup_key=dedup_key,
            source=Incident.Source.ALERTMANAGER,
            details=group.details,
            description=description[:10_000],
        )
        return dedup_key, incident_id
    change_open_incident(found, dedup_key, "resolve", "resolved in Alertmanager")
    return dedup_key, None
