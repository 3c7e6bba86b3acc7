"""incident_statistics (materialized view) and its hourly refresh."""

from pathlib import Path

from django.conf import settings
from django.db import migrations

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"
ROLE = settings.DATABASE_APP_ROLE


def add_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = interval_model.objects.get_or_create(every=1, period="hours")
    task_model.objects.update_or_create(
        name="Refresh incident statistics",
        defaults={
            "task": "incidents.refresh_incident_statistics",
            "interval": hourly,
            "description": "REFRESH MATERIALIZED VIEW CONCURRENTLY incident_statistics.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="Refresh incident statistics"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_notification_history")]
    operations = [
        run_sql_file(SQL / "incident_statistics.sql"),
        # Materialized views have no row-level security: the app role reads the filtered view.
        migrations.RunSQL(
            f"REVOKE ALL ON incident_statistics FROM {ROLE};"
            f" GRANT SELECT ON incident_statistics_by_organization TO {ROLE};",
            migrations.RunSQL.noop,
        ),
        migrations.RunPython(add_schedule, remove_schedule),
    ]
