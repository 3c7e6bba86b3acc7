"""The escalation engine's Python side: run the SQL sweep, hand pages to delivery.

The rules live in PostgreSQL (``process_incident_timeouts()``,
``process_pending_escalations()``); this module runs them on the system path (the schema
owner, across organizations) and moves the pages they queue to the ``notifications``
queue. A page is a durable ``incident_notifications`` row before any Celery message
exists, so a lost message or a killed worker delays it — the redispatch below picks it up
again — and never loses it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction
from django.utils import timezone

from incidents.models import Incident, IncidentNotification, IncidentUpdate

log = logging.getLogger(__name__)

DISPATCH_BATCH = 500
REDISPATCH_AFTER = dt.timedelta(minutes=2)


def sweep() -> dict[str, int]:
    """One engine tick: timeouts, due escalations, then dispatch of queued pages."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT process_incident_timeouts()")
        timeouts = cursor.fetchone()[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT process_pending_escalations()")
        escalations = cursor.fetchone()[0]
    dispatched = dispatch()
    return {"timeouts": timeouts, "escalations": escalations, "dispatched": dispatched}


def dispatch() -> int:
    """Hand queued pages (and ones whose hand-off went missing) to the delivery workers."""
    from incidents.tasks import deliver_notification

    stale = timezone.now() - REDISPATCH_AFTER
    with transaction.atomic():
        ids = list(
            IncidentNotification.objects.select_for_update(skip_locked=True)
            .filter(status=IncidentNotification.Status.QUEUED)
            .values_list("pk", flat=True)[:DISPATCH_BATCH]
        )
        ids += list(
            IncidentNotification.objects.select_for_update(skip_locked=True)
            .filter(status=IncidentNotification.Status.DISPATCHED, dispatched_at__lt=stale)
            .values_list("pk", flat=True)[:DISPATCH_BATCH]
        )
        if not ids:
            return 0
        IncidentNotification.objects.filter(pk__in=ids).update(
            status=IncidentNotification.Status.DISPATCHED, dispatched_at=timezone.now()
        )

        def send() -> None:
            for notification_id in ids:
                deliver_notification.apply_async(args=[str(notification_id)], queue="notifications")

        transaction.on_commit(send)
    return len(ids)


def deliver(notification_id: str) -> None:
    """Deliver one page. Until channels exist this records that delivery is not configured."""
    with transaction.atomic():
        notification = (
            IncidentNotification.objects.select_for_update(skip_locked=True)
            .select_related("incident", "user")
            .filter(pk=notification_id, status=IncidentNotification.Status.DISPATCHED)
            .first()
        )
        if notification is None:
            return  # already delivered or cancelled, or another worker has it
        if (
            notification.reason == "escalation"
            and notification.incident.status != Incident.Status.TRIGGERED
        ):
            notification.status = IncidentNotification.Status.CANCELLED
            notification.save(update_fields=["status"])
            return
        IncidentUpdate.objects.create(
            organization_id=notification.organization_id,
            incident=notification.incident,
            update_type=IncidentUpdate.Kind.NOTIFICATION,
            message=f"Notification to {notification.user}: no delivery channel configured",
            user=notification.user,
            metadata={"notification": str(notification.pk), "status": "skipped"},
        )
        notification.status = IncidentNotification.Status.DONE
        notification.save(update_fields=["status"])
