"""The event types an endpoint can subscribe to: part of the public contract.

The database triggers in ``webhooks/sql/webhook_events.sql`` write these names; the check
constraint on ``webhook_endpoints.event_types`` and the admin form read them from here.
"""

from __future__ import annotations

from django.db import models


class EventType(models.TextChoices):
    INCIDENT_TRIGGERED = "incident.triggered", "Incident triggered"
    INCIDENT_ACKNOWLEDGED = "incident.acknowledged", "Incident acknowledged"
    INCIDENT_UNACKNOWLEDGED = (
        "incident.unacknowledged",
        "Incident unacknowledged (acknowledgement timed out, snooze over)",
    )
    INCIDENT_RESOLVED = "incident.resolved", "Incident resolved"
    INCIDENT_REASSIGNED = "incident.reassigned", "Incident reassigned"
    INCIDENT_ESCALATED = "incident.escalated", "Incident escalated"
    MONITOR_DOWN = "monitor.down", "Monitor down (alert opened)"
    MONITOR_UP = "monitor.up", "Monitor up (alert resolved)"
    STATUS_PAGE_INCIDENT_UPDATED = (
        "status_page.incident_updated",
        "Status-page incident created or updated",
    )


#: Sent only by the admin's "send test event" action, whatever the endpoint subscribes to.
PING = "ping"
