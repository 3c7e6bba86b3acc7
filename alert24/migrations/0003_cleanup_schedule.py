"""Registers retention with django-celery-beat (editable in admin)."""

from django.db import migrations

from alert24.beat import periodic_task


class Migration(migrations.Migration):
    dependencies = [
        ("alert24", "0002_data_lifecycle"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task(
            "Data retention",
            "alert24.cleanup_old_data",
            every=10,
            period="minutes",
            description=(
                "cleanup_old_data(): check results 30 d, notification history 90 d, activity "
                "log 180 d, uptime calculations 1 y (RETENTION_* settings), in short batches."
            ),
        )
    ]
