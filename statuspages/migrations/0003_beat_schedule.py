"""Registers the status-page periodic tasks with django-celery-beat (editable in admin)."""

from django.db import migrations

from alert24.beat import periodic_task

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


class Migration(migrations.Migration):
    dependencies = [
        ("statuspages", "0002_row_level_security_and_sql"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task(
            name,
            task,
            every=seconds,
            period="seconds",
            queue=queue,
            expire_seconds=seconds,
            description=description,
        )
        for name, task, seconds, queue, description in SCHEDULES
    ]
