"""Row-level security for every status-page table, then the SQL in statuspages/sql/."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"

TABLES = [
    "status_pages",
    "status_page_component_groups",
    "status_page_components",
    "status_page_component_services",
    "status_page_incidents",
    "status_page_incident_components",
    "status_page_incident_updates",
    "component_status_history",
    "uptime_calculations",
    "subscribers",
    "subscriber_components",
    "subscriber_notifications",
    "status_page_analytics",
    "status_page_maintenance_windows",
    "status_page_maintenance_components",
]


class Migration(migrations.Migration):
    dependencies = [
        ("statuspages", "0001_initial"),
        ("alert24", "0001_app_role"),
        ("incidents", "0005_lifecycle_and_engine"),
    ]
    operations = [
        *(organization_rls(table) for table in TABLES),
        run_sql_file(SQL / "notifications.sql"),
        run_sql_file(SQL / "wiring.sql"),
        run_sql_file(SQL / "maintenance.sql"),
        run_sql_file(SQL / "uptime.sql"),
        run_sql_file(SQL / "lookup.sql"),
    ]
