"""Alert24: monitoring, on-call escalation and status pages in one Django project."""

from alert24.celery import app as celery_app

__all__ = ["celery_app"]
