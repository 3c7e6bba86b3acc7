"""Celery entry points for monitoring; each calls a plain function tests can call."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection

from monitoring import engine, partitions


@shared_task(name="monitoring.dispatch_checks", ignore_result=True)
def dispatch_checks() -> dict[str, int]:
    report = engine.dispatch_due_checks()
    return {"claimed": report.claimed, "batches": report.batches, "heartbeats": report.heartbeats}


@shared_task(name=engine.RUN_CHECKS_TASK, ignore_result=True)
def run_checks(location_id: int, items: list[list[str]]) -> dict[str, Any]:
    """Run one batch on a location's worker (sent to that location's queue)."""
    report = engine.run_batch(location_id, items)
    return {"ran": report.ran, "skipped": report.skipped}


@shared_task(name="monitoring.refresh_statistics", ignore_result=True)
def refresh_statistics() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_statistics()")
        return cursor.fetchone()[0]


@shared_task(name="monitoring.create_result_partitions", ignore_result=True)
def create_result_partitions(days_ahead: int = 7) -> dict[str, Any]:
    """Creates the coming days' ``check_results`` partitions and compacts finished days;
    retention (dropping old days) is ``cleanup_old_data()``'s."""
    created = partitions.create_partitions(days_ahead)
    return {"created": created, "compacted": partitions.compact_closed_partitions()}


@shared_task(name="monitoring.demo_heartbeat", ignore_result=True)
def demo_heartbeat() -> int:
    """Feeds the demo's heartbeat monitors through the real ``/hb/<token>`` endpoint."""
    from monitoring.demo import ping_demo_heartbeats

    return ping_demo_heartbeats()


@shared_task(name="monitoring.refresh_check_statistics_view", ignore_result=True)
def refresh_check_statistics_view() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_check_statistics()")
