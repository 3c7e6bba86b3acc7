"""WSGI entry point for production servers (e.g. ``gunicorn alert24.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alert24.settings")
application = get_wsgi_application()
