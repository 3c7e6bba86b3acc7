"""Celery entry points for status pages; each calls a plain function tests can call."""

from __future__ import annotations

from celery import shared_task

from statuspages import analytics, services, subscriptions


@shared_task(name="statuspages.process_maintenance_windows", ignore_result=True)
def process_maintenance_windows() -> int:
    changed = services.process_maintenance_windows()
    subscriptions.deliver_pending()
    return changed


@shared_task(name="statuspages.calculate_uptime", ignore_result=True)
def calculate_uptime() -> int:
    return services.calculate_uptime()


@shared_task(name="statuspages.flush_analytics", ignore_result=True)
def flush_analytics() -> int:
    return analytics.flush()


@shared_task(name="statuspages.deliver_subscriber_notifications", ignore_result=True)
def deliver_subscriber_notifications() -> dict[str, int]:
    return subscriptions.deliver_pending()


@shared_task(name="statuspages.send_subscription_confirmation", ignore_result=True)
def send_subscription_confirmation(subscriber_id: str) -> None:
    subscriptions.send_confirmation(subscriber_id)
