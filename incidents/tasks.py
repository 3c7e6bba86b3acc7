"""Celery entry points for incident response; each calls a plain function."""

from __future__ import annotations

from celery import shared_task

from incidents import delivery, engine


@shared_task(name="incidents.run_escalation_sweep", ignore_result=True)
def run_escalation_sweep() -> dict[str, int]:
    return engine.sweep()


@shared_task(name="incidents.deliver_notification", ignore_result=True, acks_late=True)
def deliver_notification(notification_id: str) -> None:
    engine.deliver(notification_id)


@shared_task(name="incidents.send_notification", ignore_result=True, acks_late=True)
def send_notification(history_id: str) -> str | None:
    return delivery.send(history_id)


@shared_task(name="incidents.refresh_incident_statistics", ignore_result=True)
def refresh_incident_statistics() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_incident_statistics()")


@shared_task(name="incidents.notify_handoffs", ignore_result=True)
def notify_handoffs() -> int:
    from incidents.handoffs import notify_handoffs as notify

    return notify()


@shared_task(name="incidents.apply_event_inbox", ignore_result=True)
def apply_event_inbox() -> dict[str, int]:
    from incidents.event_inbox import apply_waiting

    return apply_waiting()
