"""A real Celery worker consuming given location queues, bound to the test database.

The variant of ``tests/integration/conftest.py``'s ``celery_worker`` that monitoring needs:
it listens on the queues of (private, per-test) monitoring locations, runs batches with
the thread pool as production location workers do, and may probe 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator

import redis
from django.conf import settings

from tests.child_processes import start_worker, stop_worker


@contextlib.contextmanager
def location_worker(queues: list[str], concurrency: int = 4) -> Iterator[subprocess.Popen]:
    process = start_worker(
        queues,
        pool="threads",
        concurrency=concurrency,
        env={"MONITORING_ALLOW_PRIVATE_TARGETS": "true"},
    )
    try:
        yield process
    finally:
        stop_worker(process)
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(*queues)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
