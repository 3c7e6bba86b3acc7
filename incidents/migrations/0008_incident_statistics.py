"""incident_statistics (materialized view) and its hourly refresh."""

from pathlib import Path

from django.conf import settings
from django.db import migrations

from alert24.beat import periodic_task
from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"
ROLE = settings.DATABASE_APP_ROLE


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_notification_history"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        run_sql_file(SQL / "incident_statistics.sql"),
        # Materialized views have no row-level security: the app role reads the filtered view.
        migrations.RunSQL(
            f"REVOKE ALL ON incident_statistics FROM {ROLE};"
            f" GRANT SELECT ON incident_statistics_by_organization TO {ROLE};",
            migrations.RunSQL.noop,
        ),
        periodic_task(
            "Refresh incident statistics",
            "incidents.refresh_incident_statistics",
            every=1,
            period="hours",
            description="REFRESH MATERIALIZED VIEW CONCURRENTLY incident_statistics.",
        ),
    ]
