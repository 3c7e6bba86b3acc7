"""The Celery application. Tasks stay thin: they call plain functions tests can call."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alert24.settings")

app = Celery("alert24")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
