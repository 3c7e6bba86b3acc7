"""Registers the status-page periodic tasks with django-celery-beat (editable in admin)."""

from django.db import migrations

SCHEDULES = [
    # name, task, seconds, queue, description
    (
        "Status pages: maintenance windows",
        "statuspages.process_maintenance_windows",
        60,
        "default",
        "Every minute: start and complete maintenance windows on schedule "
        "(process_maintenance_windows()), then deliver queued subscriber notices.",
    ),
    (
        "Status pages: uptime rollup",
        "statuspages.calculate_uptime",
        300,
        "default",
        "Every 5 minutes: calculate_all_component_uptime() for the 90-day uptime bars.",
    ),
    (
        "Status pages: analytics flush",
        "statuspages.flush_analytics",
        60,
        "default",
        "Every minute: move page-view counters from Redis into status_page_analytics.",
    ),
]


def add_schedules(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds, queue, description in SCHEDULES:
        every, _ = interval_model.objects.get_or_create(every=seconds, period="seconds")
        task_model.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                "interval": every,
                "queue": queue,
                "expire_seconds": seconds,
                "description": description,
            },
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[name for name, *_ in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("statuspages", "0002_row_level_security_and_sql"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(add_schedules, remove_schedules)]
