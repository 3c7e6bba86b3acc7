"""Periodic tasks live in django-celery-beat's tables, so admins can see and edit them.

Migrations register each one with :func:`periodic_task`, the single place that knows how.
"""

from __future__ import annotations

from django.db import migrations


def periodic_task(
    name: str, task: str, *, every: int, period: str, description: str, **options
) -> migrations.RunPython:
    """A migration operation creating (or updating) the periodic task ``name``."""

    def add(apps, schema_editor) -> None:
        interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
        task_model = apps.get_model("django_celery_beat", "PeriodicTask")
        interval, _ = interval_model.objects.get_or_create(every=every, period=period)
        task_model.objects.update_or_create(
            name=name,
            defaults={"task": task, "interval": interval, "description": description, **options},
        )

    def remove(apps, schema_editor) -> None:
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()

    return migrations.RunPython(add, remove)
