"""Registers the monitoring periodic tasks with django-celery-beat (editable in admin)."""

from django.db import migrations

from alert24.beat import periodic_task

DISPATCH_SECONDS = 2

TASKS = [
    # name, task, (every, period), queue, expire seconds, description
    (
        "Monitoring dispatcher",
        "monitoring.dispatch_checks",
        (DISPATCH_SECONDS, "seconds"),
        "default",
        10,
        "Every few seconds: claims due check schedules (claim_due_checks), sends batches to "
        "each location's queue, and evaluates heartbeat checks for missed beats.",
    ),
    (
        "Monitoring statistics refresh",
        "monitoring.refresh_statistics",
        (1, "days"),
        "default",
        3600,
        "Daily: recomputes the last day's statistics buckets from raw results "
        "(refresh_monitoring_statistics), a repair for the incremental rollup.",
    ),
    (
        "Monitoring retention",
        "monitoring.cleanup_results",
        (1, "days"),
        "default",
        3600,
        "Daily: deletes check results older than 30 days (cleanup_old_check_results) and "
        "old hourly/daily statistics (cleanup_old_monitoring_statistics).",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0002_engine"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [
        periodic_task(
            name,
            task,
            every=every,
            period=period,
            queue=queue,
            expire_seconds=expires,
            description=description,
        )
        for name, task, (every, period), queue, expires, description in TASKS
    ]
