"""WSGI entry point for production servers (``granian --interface wsgi alert24.wsgi:application``).

Cached public status pages are answered in front of Django's handler
(``statuspages.herd``): the herd that reads them during an outage is the heaviest traffic
the application sees. Event posts (PagerDuty v2, Alertmanager) get the same treatment
(``incidents.events_views.EventsFrontDoor``): an integration's alert storm is the other.

What is loaded at start-up (Django, the URLconf and every view module) lives as long as the
process, so it is frozen out of the garbage collector's way: a full collection otherwise
walks all of it and stalls whichever request triggered it (150-250 ms on a busy 2-core
machine, the monitors list's p99; ``bench/responder_pages.py``).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alert24.settings")
application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402  (needs Django set up)

from incidents.events_views import EventsFrontDoor  # noqa: E402
from statuspages.herd import StatusPageHerdShortcut  # noqa: E402

application = StatusPageHerdShortcut(EventsFrontDoor(application))
get_resolver().url_patterns  # noqa: B018  (imports the views now, not in the first request)
gc.collect()
gc.freeze()
