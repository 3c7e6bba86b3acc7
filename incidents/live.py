"""Live updates for responders' browsers: Pusher Channels when configured, polling otherwise.

Every path that changes an incident (a responder's click, the escalation sweep, a monitoring
alert) calls :func:`incident_changed`; with ``PUSHER_*`` settings it publishes an
``incident-changed`` event on the organization's private channel ``private-org-<id>`` once
the transaction commits (a rolled-back change must not make browsers refetch), and the
pages refetch their live fragments. The database triggers also ``pg_notify`` on
``incident_changes`` for every insert and status change, whatever wrote the row;
:func:`relay_notifications` turns those into the same event, so raw-SQL writers (the
escalation sweep's timeouts) reach browsers without calling Python.

Without Pusher the pages poll their fragments every few seconds; :func:`list_version` and
:func:`incident_version` make each poll one cheap aggregate query that answers "nothing
changed" (204) without rendering.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max

from incidents.models import Incident, IncidentUpdate

log = logging.getLogger(__name__)

EVENT = "incident-changed"
#: How often pages poll when Pusher is not configured (and, slower, as a safety net when it is).
POLL_SECONDS = 5
POLL_SECONDS_WITH_PUSHER = 60


def channel_name(organization_id: uuid.UUID | str) -> str:
    """The one private channel per organization; ``/pusher/auth`` signs only the user's own."""
    return f"private-org-{organization_id}"


def pusher_configured() -> bool:
    return bool(settings.PUSHER_APP_ID and settings.PUSHER_KEY and settings.PUSHER_SECRET)


def pusher_client():
    """The official SDK's client; ``PUSHER_HOST``/``PORT``/``SSL`` point it at a stand-in."""
    import pusher

    options: dict[str, Any] = {
        "app_id": settings.PUSHER_APP_ID,
        "key": settings.PUSHER_KEY,
        "secret": settings.PUSHER_SECRET,
        "ssl": settings.PUSHER_SSL,
        "timeout": 3,
    }
    if settings.PUSHER_HOST:
        options["host"] = settings.PUSHER_HOST
        if settings.PUSHER_PORT:
            options["port"] = settings.PUSHER_PORT
    else:
        options["cluster"] = settings.PUSHER_CLUSTER
    return pusher.Pusher(**options)


def payload(incident: Incident) -> dict[str, Any]:
    """Small on purpose: browsers refetch the fragment, so no incident text travels via Pusher."""
    return {
        "incident_id": str(incident.pk),
        "status": incident.status,
        "severity": incident.severity,
    }


def publish(organization_id: uuid.UUID | str, data: dict[str, Any]) -> bool:
    """Send one event now; never raises (a push is a hint, polling is the safety net)."""
    if not pusher_configured():
        return False
    try:
        pusher_client().trigger(channel_name(organization_id), EVENT, data)
    except Exception:
        log.warning("Pusher trigger failed for organization %s", organization_id, exc_info=True)
        return False
    return True


def incident_changed(incident: Incident) -> None:
    """Tell every open page of the incident's organization, after the current commit.

    Call it from any path that changes an incident (views, escalation, monitoring). Outside
    a transaction ``on_commit`` runs at once.
    """
    if not pusher_configured():
        return
    organization_id, data = incident.organization_id, payload(incident)
    transaction.on_commit(lambda: publish(organization_id, data))


def relay_notifications(
    timeout: float = 5.0, stop: Callable[[], bool] = lambda: False, publisher=publish
) -> int:
    """LISTEN on ``incident_changes`` and publish each notification; returns how many.

    For a long-running process (``manage.py relay_incident_changes``); runs on its own
    connection in autocommit, as the schema owner, because notifications of every
    organization arrive on the one channel.
    """
    relayed = 0
    with connection.cursor() as cursor:
        cursor.execute("LISTEN incident_changes")
    raw = connection.connection
    try:
        while not stop():
            for notify in raw.notifies(timeout=timeout, stop_after=None):
                try:
                    data = json.loads(notify.payload)
                except ValueError:
                    continue
                publisher(
                    data.get("organization_id"),
                    {"incident_id": data.get("incident_id"), "status": data.get("status")},
                )
                relayed += 1
                if stop():
                    break
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UNLISTEN incident_changes")
    return relayed


def _etag(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:20]
    return f'"{digest}"'


def list_version(organization_id: uuid.UUID | str, *extra: object) -> str:
    """An ETag for the incidents list: changes with any incident or timeline entry.

    ``incidents.updated_at`` moves on every write (trigger); assignment and notes add
    timeline rows. ``extra`` carries what else the fragment depends on (filters, page, role).
    """
    incidents = Incident.objects.filter(organization_id=organization_id).aggregate(
        newest=Max("updated_at"), count=Count("id")
    )
    newest_update = (
        IncidentUpdate.objects.filter(organization_id=organization_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return _etag(incidents["newest"], incidents["count"], newest_update, *extra)


def incident_version(incident_id: uuid.UUID | str, *extra: object) -> str:
    """An ETag for one incident's live fragment: its row, its timeline, its deliveries."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.updated_at,
                   (SELECT max(created_at) FROM incident_updates WHERE incident_id = i.id),
                   (SELECT count(*) FROM incident_updates WHERE incident_id = i.id),
                   (SELECT max(updated_at) FROM notification_history WHERE incident_id = i.id),
                   (SELECT count(*) FROM incident_assignments WHERE incident_id = i.id)
              FROM incidents i WHERE i.id = %s
            """,
            [str(incident_id)],
        )
        row = cursor.fetchone()
    return _etag(row, *extra)
