"""The application's hot queries are served by indexes, not sequential scans.

With ``enable_seqscan`` off the planner still falls back to a sequential scan when no index
fits, so a "Seq Scan" in the plan means an index is missing, whatever the table's size.
"""

import pytest
from django.db import connection

HOT_QUERIES = {
    "open incidents of an organization": (
        "SELECT id FROM incidents WHERE organization_id = %(org)s AND status <> 'resolved'"
        " ORDER BY created_at DESC LIMIT 50"
    ),
    "due escalations": (
        "SELECT id FROM incident_escalations WHERE status = 'pending'"
        " AND next_escalation_at <= now() ORDER BY next_escalation_at LIMIT 1000"
        " FOR UPDATE SKIP LOCKED"
    ),
    "acknowledgement timeouts": (
        "SELECT id FROM incidents WHERE status = 'acknowledged'"
        " AND acknowledged_at <= now() - interval '30 minutes'"
    ),
    "due deliveries": (
        "SELECT id FROM notification_history WHERE status = 'queued'"
        " AND next_attempt_at <= now() LIMIT 500"
    ),
    "incident timeline": (
        "SELECT id FROM incident_updates WHERE incident_id = %(uuid)s ORDER BY created_at"
    ),
    "open incident by dedup key": (
        "SELECT id FROM incidents WHERE service_id = %(uuid)s AND dedup_key = 'k'"
        " AND status <> 'resolved'"
    ),
    "due checks": (
        "SELECT id FROM check_schedules WHERE next_run_at <= now() + interval '2 seconds'"
        " ORDER BY next_run_at LIMIT 500 FOR UPDATE SKIP LOCKED"
    ),
    "latest results of a check": (
        "SELECT checked_at, status FROM check_results WHERE series_id = %(int)s"
        " ORDER BY checked_at DESC LIMIT 20"
    ),
    "results of a check over a day": (
        "SELECT checked_at, status FROM check_results WHERE series_id = %(int)s"
        " AND checked_at >= now() - interval '1 day' ORDER BY checked_at"
    ),
    "90-day uptime bars of checks": (
        "SELECT bucket_start, up_checks FROM monitoring_statistics"
        " WHERE check_id = ANY(ARRAY[%(uuid)s]::uuid[]) AND period = 'day'"
        " AND bucket_start >= now() - interval '90 days'"
    ),
    "90-day uptime bars of a status page": (
        "SELECT component_id, date, uptime_percentage FROM uptime_calculations"
        " WHERE status_page_id = %(uuid)s AND date >= current_date - 89"
    ),
    "open alert of a check": (
        "SELECT id FROM monitoring_alerts WHERE check_id = %(uuid)s AND status = 'open'"
    ),
    "activity log of an organization": (
        "SELECT id FROM user_activity_log WHERE organization_id = %(org)s"
        " ORDER BY created_at DESC LIMIT 50"
    ),
}


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
def test_hot_query_uses_an_index(db, org_a, name):
    params = {"org": org_a.pk, "uuid": org_a.pk, "int": 1}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + HOT_QUERIES[name], params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
