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

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incidents import delivery
from incidents.models import IncidentNotification

DISPATCH_BATCH = 500
REDISPATCH_AFTER = dt.timedelta(minutes=2)


def sweep() -> dict[str, int]:
    """One engine tick: timeouts, due escalations, pages to delivery, retries due."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT process_incident_timeouts()")
        timeouts = cursor.fetchone()[0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT process_pending_escalations()")
        escalations = cursor.fetchone()[0]
    dispatched = dispatch()
    reaped = delivery.reap_abandoned_claims()
    retries = delivery.due_rows()
    _enqueue_sends(retries)
    return {
        "timeouts": timeouts,
        "escalations": escalations,
        "dispatched": dispatched,
        "reaped": reaped,
        "sends": len(retries),
    }


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
                deliver_notification.apply_async(
                    args=[str(notification_id)], queue=settings.NOTIFICATIONS_QUEUE
                )

        transaction.on_commit(send)
    return len(ids)


def deliver(notification_id: str) -> None:
    """Expand one page into delivery rows and send those due now, in this task.

    Sending inline saves a queue hop on the path that decides paging latency; each send is
    bounded by the channel timeouts, and anything left queued is picked up by the sweep.
    """
    for history_id in delivery.expand_page(notification_id):
        delivery.send(history_id)


def _enqueue_sends(history_ids: list[str]) -> None:
    from incidents.tasks import send_notification

    for history_id in history_ids:
        send_notification.apply_async(args=[history_id], queue=settings.NOTIFICATIONS_QUEUE)
