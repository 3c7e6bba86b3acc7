"""Platform-level Celery tasks."""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings


@shared_task(name="alert24.ping")
def ping(token: str) -> str:
    """Proves the worker round trip: records ``token`` in Redis and answers it back.

    Used by ``/healthz``-style checks and the integration test that starts a real worker.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(f"alert24:ping:{token}", "pong", ex=300)
    return token


@shared_task(name="alert24.cleanup_old_data", ignore_result=True)
def cleanup_old_data() -> dict[str, int]:
    """Retention, with the day counts from settings; see alert24/sql/data_lifecycle.sql."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, deleted FROM cleanup_old_data(%s, %s, %s, %s)",
            [
                settings.RETENTION_CHECK_RESULTS_DAYS,
                settings.RETENTION_NOTIFICATION_HISTORY_DAYS,
                settings.RETENTION_ACTIVITY_LOG_DAYS,
                settings.RETENTION_UPTIME_DAYS,
            ],
        )
        return dict(cursor.fetchall())
