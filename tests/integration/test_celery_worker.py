"""A real Celery worker, on the real Redis, runs a task sent through the broker."""

import uuid

import pytest
import redis
from django.conf import settings

from alert24.tasks import ping

pytestmark = pytest.mark.integration


def test_worker_runs_a_task_from_the_broker(celery_worker):
    token = uuid.uuid4().hex
    result = ping.apply_async(args=[token], queue=celery_worker)
    assert result.get(timeout=60) == token
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.get(f"alert24:ping:{token}") == b"pong"
