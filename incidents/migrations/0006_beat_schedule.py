"""Registers the escalation sweep with django-celery-beat (editable in admin)."""

from django.db import migrations

from alert24.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_lifecycle_and_engine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task(
            "Escalation sweep",
            "incidents.run_escalation_sweep",
            every=5,
            period="seconds",
            queue="notifications",
            expire_seconds=30,
            description=(
                "Every few seconds: acknowledgement timeouts, snoozes and auto-resolve "
                "(process_incident_timeouts), due escalations (process_pending_escalations), "
                "then hands queued pages to the notifications queue."
            ),
        )
    ]
