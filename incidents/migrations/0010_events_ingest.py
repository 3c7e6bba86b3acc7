"""apply_integration_event(): one statement per Events API / Alertmanager event; the
snapshot and routing functions on that path in PL/pgSQL, so their plans are cached."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_notification_subject"),
        ("accounts", "0004_api_keys"),  # service_for_integration_key()
    ]
    operations = [
        run_sql_file(SQL / "cached_plans.sql"),
        run_sql_file(SQL / "events_ingest.sql"),
    ]
