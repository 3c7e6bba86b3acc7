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

Each event is one statement, ``apply_integration_event()`` (``incidents/sql/
events_ingest.sql``): it resolves the key, then writes as the app role for the key's
organization, so row-level security applies as in any web request. On the fast path
(``events_views.EventsFastPathMiddleware``) there is no surrounding transaction, so the
statement commits on its own and the event is durable before the 202 goes out; an event
that fails validation writes nothing. ``open_incident()`` does the dedup-or-insert
atomically, so concurrent events with one key make one incident.

Parsing and validation are plain functions of bytes, so they are tested without HTTP; the
views in ``incidents/events_views.py`` add the rate limit and the responses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from incidents import event_inbox, lifecycle
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
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        raise EventRejected(["Body is not valid JSON"], unrecognized=True) from None
    except RecursionError:
        raise EventRejected(["Body is nested too deeply"], unrecognized=True) from None
    if not isinstance(body, dict):
        raise EventRejected(["Body must be a JSON object"], unrecognized=True)
    if b"\\u0000" in raw:  # the only way a NUL character gets into JSON text
        where = _nul_character_at(body)
        if where is not None:
            where = where.replace("\x00", "\\u0000")
            raise EventRejected([f"'{where}' contains a NUL character (\\u0000)"])
    return body


def _refuse_constant(name: str) -> None:
    """NaN and Infinity: Python reads them, JSON (and PostgreSQL's jsonb) does not."""
    raise ValueError(f"{name} is not JSON")


def _nul_character_at(body: dict) -> str | None:
    """The path of the first key or string holding U+0000, which PostgreSQL cannot
    store in text or jsonb; walked without recursion, as the body may be deep."""
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return child
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


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


# --- Applying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What ``apply_integration_event()`` did (see ``incidents/sql/events_ingest.sql``)."""

    outcome: str
    incident_id: uuid.UUID | None
    created: bool


APPLY_SQL = (
    "SELECT outcome, incident, opened FROM apply_integration_event("
    "%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
)


def apply(
    integration_key: str,
    action: str,
    *,
    dedup_key: str | None = None,
    title: str = "",
    severity: str = Severity.HIGH,
    source: str = Incident.Source.EVENTS,
    details: dict | None = None,
    description: str = "",
    reason: str | None = None,
) -> Applied | None:
    """Apply one event now, in one database statement; None if no integration has the key.

    For Alertmanager's webhook and change events, which answer with what they did, and
    for Events API events inside a caller's transaction. The statement resolves the key on
    the narrow system path and writes as the app role for the key's organization (row-level
    security applies), so the event needs neither a session nor the tenancy middleware's
    transaction; outside a transaction it commits on its own.
    """
    event = [
        integration_key,
        action,
        dedup_key,
        title,
        severity,
        source,
        json.dumps(details or {}),
        description,
        reason,
    ]
    _trust_busy_connection()
    with connection.cursor() as cursor:
        cursor.execute(APPLY_SQL, [settings.DATABASE_APP_ROLE, *event])
        outcome, incident_id, created = cursor.fetchone()
    if outcome == "unknown_key":
        return None
    if created:
        # The page goes out at once; the beat sweep is the safety net if Redis is down.
        transaction.on_commit(lifecycle.kick_escalation_sweep)
    return Applied(outcome, incident_id, created)


_BUSY_SECONDS = 1.0
_last_used = threading.local()


def _trust_busy_connection() -> None:
    """Skip Django's per-request ``SELECT 1`` health check on a connection this thread
    used within the last second (``CONN_HEALTH_CHECKS``): under a stream of events it
    costs a round trip and as much CPU as the event's own statement, and what it guards
    against — a connection the server dropped while it sat idle — cannot have happened
    a moment ago. An idle connection is still checked; a broken one still fails the
    request and is then discarded by Django as usual."""
    now = time.monotonic()
    if connection.connection is not None and now - getattr(_last_used, "at", 0.0) < _BUSY_SECONDS:
        connection.health_check_done = True
    _last_used.at = now


def apply_event(event: Event) -> str | None:
    """Accept a validated event; returns the dedup key, or None for an unknown key.

    A request's event goes to the inbox (``incidents.event_inbox``): durable when this
    returns, applied a moment later in a batch. Inside a caller's transaction (a
    management command, a test) it is applied in that transaction instead, so the caller
    sees the incident before it commits.
    """
    fields: dict[str, Any] = {"dedup_key": event.dedup_key, "reason": "via Events API"}
    if event.action == "trigger":
        fields = {
            "dedup_key": event.dedup_key or uuid.uuid4().hex,
            "title": event.summary,
            "severity": event.severity,
            "details": event.details,
        }
    if not connection.in_atomic_block:
        accepted = event_inbox.accept(event.routing_key, event.action, **fields)
        return fields["dedup_key"] if accepted else None
    applied = apply(event.routing_key, event.action, **fields)
    return None if applied is None else fields["dedup_key"]


def record_change_event(routing_key: str, event: dict) -> bool:
    """Change events (deploys, config changes) open nothing: they go to the audit log.

    False if no integration has the key."""
    summary = event["payload"].get("summary", "")
    return apply(routing_key, "change", title=summary, details=event) is not None


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


def apply_alertmanager(
    integration_key: str, group: AlertGroup
) -> tuple[str, uuid.UUID | None] | None:
    """Firing opens or updates the group's incident; resolved resolves it.

    Returns (dedup key, incident id or None), or None for an unknown integration key."""
    dedup_key = alertmanager_dedup_key(group.group_key)
    if group.status == "firing":
        description = str(group.details.get("commonAnnotations", {}).get("description") or "")
        applied = apply(
            integration_key,
            "trigger",
            dedup_key=dedup_key,
            title=group.title,
            severity=group.severity,
            source=Incident.Source.ALERTMANAGER,
            details=group.details,
            description=description[:10_000],
        )
        return None if applied is None else (dedup_key, applied.incident_id)
    applied = apply(
        integration_key, "resolve", dedup_key=dedup_key, reason="resolved in Alertmanager"
    )
    return None if applied is None else (dedup_key, None)
