"""Real processes for integration tests: a Celery worker bound to the test database."""

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

from tests.child_processes import database_url


@pytest.fixture
def celery_worker(transactional_db):
    """Start a real worker on a private queue; yields the queue name."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alert24", "worker", "-Q", queue,
         "--pool", "solo", "--loglevel", "WARNING", "--without-mingle", "--without-gossip"],
        cwd=settings.BASE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    yield queue
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
