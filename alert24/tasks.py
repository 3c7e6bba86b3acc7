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
