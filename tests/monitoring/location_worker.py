"""A real Celery worker consuming given location queues, bound to the test database.

The variant of ``tests/integration/conftest.py``'s ``celery_worker`` that monitoring needs:
it listens on the queues of (private, per-test) monitoring locations, runs batches with
the thread pool as production location workers do, and may probe 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import redis
from django.conf import settings

from tests.child_processes import database_url


@contextlib.contextmanager
def location_worker(queues: list[str], concurrency: int = 4) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "MONITORING_ALLOW_PRIVATE_TARGETS": "true",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alert24", "worker", "-Q", ",".join(queues),
         "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "WARNING",
         "--without-mingle", "--without-gossip", "--without-heartbeat"],
        cwd=settings.BASE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
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
