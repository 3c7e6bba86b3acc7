"""Registers the webhook delivery sweep and the log clean-up with django-celery-beat."""

from django.db import migrations

from alert24.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_rls_and_triggers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task(
            "Webhooks: deliver due events",
            "webhooks.dispatch_deliveries",
            every=2,
            period="seconds",
            queue="default",
            expire_seconds=10,
            description=(
                "Every 2 seconds: hands due webhook deliveries (new events, retries whose "
                "back-off is over, claims of workers that died) to the workers."
            ),
        ),
        periodic_task(
            "Webhooks: delete old deliveries",
            "webhooks.delete_old_events",
            every=1,
            period="hours",
            queue="default",
            expire_seconds=600,
            description=(
                "Hourly: deletes webhook events and their delivery log older than "
                "RETENTION_NOTIFICATION_HISTORY_DAYS."
            ),
        ),
    ]
