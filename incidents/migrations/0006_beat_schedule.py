"""Registers the escalation sweep with django-celery-beat (editable in admin)."""

from django.db import migrations

SWEEP_SECONDS = 5


def add_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=SWEEP_SECONDS, period="seconds")
    task_model.objects.update_or_create(
        name="Escalation sweep",
        defaults={
            "task": "incidents.run_escalation_sweep",
            "interval": every,
            "queue": "notifications",
            "expire_seconds": 30,
            "description": (
                "Every few seconds: acknowledgement timeouts, snoozes and auto-resolve "
                "(process_incident_timeouts), due escalations (process_pending_escalations), "
                "then hands queued pages to the notifications queue."
            ),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="Escalation sweep"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0005_lifecycle_and_engine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
