"""Row-level security on the webhook tables, and the triggers that write events."""

from pathlib import Path

from django.db import migrations

from alert24.tenancy import organization_rls, run_sql_file

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("incidents", "0009_notification_subject"),
        ("monitoring", "0004_check_statistics_view"),
        ("statuspages", "0003_beat_schedule"),
    ]
    operations = [
        organization_rls("webhook_endpoints"),
        organization_rls("webhook_events"),
        organization_rls("webhook_deliveries"),
        organization_rls("webhook_attempts"),
        run_sql_file(SQL / "webhook_events.sql"),
    ]
