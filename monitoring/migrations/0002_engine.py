"""Row-level security, seeded locations, and the engine's SQL (monitoring/sql/)."""

from pathlib import Path

from django.conf import settings
from django.db import migrations

from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"

# Regions a newcomer sees; each is served by the workers that consume its queue.
LOCATIONS = [
    ("us-east", "US East", "North America (Virginia)"),
    ("eu-west", "EU West", "Europe (Ireland)"),
    ("ap-south", "Asia Pacific South", "Asia Pacific (Mumbai)"),
]


def seed_locations(apps, schema_editor):
    location_model = apps.get_model("monitoring", "MonitoringLocation")
    for code, name, region in LOCATIONS:
        location_model.objects.update_or_create(
            code=code, defaults={"name": name, "region": region, "queue": f"checks.{code}"}
        )


def remove_locations(apps, schema_editor):
    location_model = apps.get_model("monitoring", "MonitoringLocation")
    location_model.objects.filter(code__in=[code for code, _, _ in LOCATIONS]).delete()


def _heartbeat_sql() -> migrations.RunSQL:
    role = settings.DATABASE_APP_ROLE
    forward, reverse = (SQL / "heartbeat.sql").read_text().split("-- reverse\n")
    return migrations.RunSQL(forward.replace("{role}", role), reverse.replace("{role}", role))


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("alert24", "0001_app_role"),
        ("incidents", "0005_lifecycle_and_engine"),
    ]
    operations = [
        organization_rls("monitoring_checks"),
        organization_rls("monitoring_alerts"),
        organization_rls("monitoring_statistics"),
        run_sql_file(SQL / "monitoring_tables.sql"),
        run_sql_file(SQL / "monitoring_engine.sql"),
        _heartbeat_sql(),
        migrations.RunPython(seed_locations, remove_locations),
    ]
