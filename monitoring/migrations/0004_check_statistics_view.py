"""monitoring_check_statistics (materialized view, daily per check) and its refresh."""

from pathlib import Path

from django.conf import settings
from django.db import migrations

from alert24.beat import periodic_task
from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"
ROLE = settings.DATABASE_APP_ROLE


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        run_sql_file(SQL / "check_statistics_view.sql"),
        migrations.RunSQL(
            f"REVOKE ALL ON monitoring_check_statistics FROM {ROLE};"
            f" GRANT SELECT ON monitoring_check_statistics_by_organization TO {ROLE};",
            migrations.RunSQL.noop,
        ),
        periodic_task(
            "Refresh monitoring check statistics",
            "monitoring.refresh_check_statistics_view",
            every=1,
            period="hours",
            description="REFRESH MATERIALIZED VIEW CONCURRENTLY monitoring_check_statistics.",
        ),
    ]
