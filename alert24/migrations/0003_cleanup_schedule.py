"""Registers retention with django-celery-beat (editable in admin)."""

from django.db import migrations


def add_schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=10, period="minutes")
    task_model.objects.update_or_create(
        name="Data retention",
        defaults={
            "task": "alert24.cleanup_old_data",
            "interval": every,
            "description": (
                "cleanup_old_data(): check results 30 d, notification history 90 d, activity "
                "log 180 d, uptime calculations 1 y (RETENTION_* settings), in short batches."
            ),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="Data retention"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alert24", "0002_data_lifecycle"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
