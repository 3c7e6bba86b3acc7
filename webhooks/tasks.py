"""Celery entry points for outgoing webhooks; each calls a plain function."""

from __future__ import annotations

from celery import shared_task

from webhooks import delivery


@shared_task(name="webhooks.dispatch_deliveries", ignore_result=True)
def dispatch_deliveries() -> int:
    return delivery.dispatch()


@shared_task(name="webhooks.deliver", ignore_result=True, acks_late=True)
def deliver_webhook(delivery_id: str) -> str | None:
    return delivery.deliver(delivery_id)


@shared_task(name="webhooks.delete_old_events", ignore_result=True)
def delete_old_events() -> int:
    return delivery.delete_old_events()
