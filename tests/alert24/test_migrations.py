"""Migrations survive being applied twice, rolled back and re-applied, with data in place.

Runs ``manage.py migrate`` in child processes against a scratch database on the test
server, as an operator would during a release and its rollback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.child_processes import database_url

pytestmark = pytest.mark.integration

# The newest migration of each app before this schema work; rolling back to them undoes
# check-result partitioning, the partition-aware retention, the events ingest function,
# two-factor sign-in and outgoing webhooks.
ROLLBACK_TARGETS = [
    ("webhooks", "zero"),
    ("monitoring", "0004"),
    ("alert24", "0003"),
    ("incidents", "0009"),
    ("accounts", "0004"),
]


@pytest.fixture
def scratch_url(db):
    name = f"alert24_migrations_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield database_url(name)
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr[-3000:]}"
    return result.stdout


def rows(url: str) -> list[str]:
    """Organizations, checks and results in the scratch database (read over SQL: a child
    process just to count would cost seconds of Django start-up each time)."""
    with psycopg.connect(url) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM monitoring_checks),"
            " (SELECT count(*) FROM check_results)"
        ).fetchone()
    return [str(count) for count in counts]


def integrity_ok(url: str) -> bool:
    with psycopg.connect(url) as conn:
        checks = conn.execute("SELECT check_name, ok FROM validate_schema_integrity()").fetchall()
    return bool(checks) and all(ok for _, ok in checks)


def test_applied_twice_rolled_back_and_reapplied_keeps_data(scratch_url):
    manage(scratch_url, "migrate", "--no-input")
    assert "No migrations to apply" in manage(scratch_url, "migrate", "--no-input")
    manage(scratch_url, "load_demo")
    manage(
        scratch_url, "shell", "-c",
        "from django.utils import timezone; from datetime import timedelta;"
        "from monitoring.models import CheckResult, MonitoringCheck, MonitoringLocation;"
        "check = MonitoringCheck.objects.order_by('name').first();"
        "location = MonitoringLocation.objects.first();"
        "[CheckResult.objects.create(monitor=check, location=location, status=0,"
        " response_time_ms=40 + n, checked_at=timezone.now() - timedelta(hours=n))"
        " for n in range(5)]",
    )  # fmt: skip
    before = rows(scratch_url)
    assert before[2] == "5" and int(before[1]) > 0
    assert integrity_ok(scratch_url)

    for app, target in ROLLBACK_TARGETS:
        manage(scratch_url, "migrate", app, target, "--no-input")
    assert rows(scratch_url) == before  # the old schema still holds the same data
    manage(scratch_url, "migrate", "--no-input")
    assert "No migrations to apply" in manage(scratch_url, "migrate", "--no-input")

    assert rows(scratch_url) == before
    assert integrity_ok(scratch_url)
