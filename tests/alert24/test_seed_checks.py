"""The seed brief's own checks, verbatim, as the schema owner through ``manage.py dbshell``
(psql), on a freshly migrated database with the demo organization."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.child_processes import database_url
from tests.monitoring.factories import SEEDED, location

SEED_SQL = """
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'public'
ORDER BY table_name;
SELECT * FROM validate_schema_integrity();
INSERT INTO incidents (organization_id, title, description, created_by)
VALUES (
    (SELECT id FROM organizations LIMIT 1),
    'Test Incident',
    'Testing incident creation',
    (SELECT id FROM users LIMIT 1)
);
UPDATE incidents SET status = 'acknowledged' WHERE title = 'Test Incident';
SELECT COUNT(*) FROM user_activity_log WHERE activity_type = 'incident_status_changed';
SELECT * FROM monitoring_locations;
SELECT process_pending_escalations();
SELECT calculate_all_component_uptime();
SELECT cleanup_old_data();
SELECT refresh_incident_statistics();
SELECT refresh_monitoring_statistics();
"""

SEED_TABLES = [
    "organizations",
    "users",
    "organization_members",
    "status_pages",
    "status_page_components",
    "subscribers",
    "incidents",
    "incident_updates",
    "escalation_policies",
    "notification_rules",
    "on_call_schedules",
    "incident_escalations",
    "monitoring_locations",
    "monitoring_checks",
    "check_results",
    "check_schedules",
    "monitoring_alerts",
    "monitoring_statistics",
    "user_contact_methods",
    "user_notification_preferences",
    "notification_history",
    "team_groups",
    "team_memberships",
    "user_activity_log",
    "status_page_incidents",
    "component_status_history",
    "uptime_calculations",
    "subscriber_notifications",
    "status_page_analytics",
    "status_page_maintenance_windows",
]


@pytest.mark.django_db(transaction=True)
def test_seed_checks_run_verbatim_in_psql():
    for code in SEEDED:  # a transactional test run earlier flushes the migration-seeded rows
        location(code)
    call_command("load_demo", verbosity=0)
    env = {**os.environ, "DATABASE_URL": database_url()}
    result = subprocess.run(
        [sys.executable, "manage.py", "dbshell", "--", "-v", "ON_ERROR_STOP=1", "-A", "-t",
         "-F", "|", "-f", "-"],
        input=SEED_SQL, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for table in SEED_TABLES:
        assert table in lines, f"{table} missing from the table listing"
    checks = [line.split("|") for line in lines if line.count("|") == 2]
    integrity = {name: ok for name, ok, _ in checks}
    assert set(integrity) >= {
        "tables", "columns", "functions", "triggers", "rls_enabled", "policies",
        "foreign_key_indexes", "materialized_views",
    }  # fmt: skip
    assert all(ok == "t" for ok in integrity.values()), checks
    assert "INSERT 0 1" in result.stdout
    assert "1" in lines  # the trigger counted the status change
    # A location row (its id is a random UUID, so match the code column, not the id's shape).
    assert any("us-east" in line.split("|") for line in lines)
