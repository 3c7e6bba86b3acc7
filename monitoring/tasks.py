"""Celery entry points for monitoring; each calls a plain function tests can call."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection

from monitoring import engine


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


@shared_task(name="monitoring.cleanup_results", ignore_result=True)
def cleanup_results(days: int = 30) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cleanup_old_check_results(%s)", [days])
        results = cursor.fetchone()[0]
        cursor.execute("SELECT cleanup_old_monitoring_statistics()")
        statistics = cursor.fetchone()[0]
    return {"results": results, "statistics": statistics}


@shared_task(name="monitoring.demo_heartbeat", ignore_result=True)
def demo_heartbeat() -> int:
    """Feeds the demo's heartbeat monitors through the real ``/hb/<token>`` endpoint."""
    from monitoring.demo import ping_demo_heartbeats

    return ping_demo_heartbeats()


@shared_task(name="monitoring.refresh_check_statistics_view", ignore_result=True)
def refresh_check_statistics_view() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_check_statistics()")
