"""Real processes for integration tests: a Celery worker bound to the test database."""

import uuid

import pytest

from tests.child_processes import start_worker, stop_worker


@pytest.fixture
def celery_worker(transactional_db):
    """Start a real worker on a private queue; yields the queue name."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    process = start_worker([queue], pool="solo")
    yield queue
    stop_worker(process)
