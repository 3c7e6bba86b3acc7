"""WSGI entry point for production servers (``granian --interface wsgi alert24.wsgi:application``).

Cached public status pages are answered in front of Django's handler
(``statuspages.herd``): the herd that reads them during an outage is the heaviest traffic
the application sees. Event posts (PagerDuty v2, Alertmanager) get the same treatment
(``incidents.events_views.EventsFrontDoor``): an integration's alert storm is the other.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alert24.settings")
application = get_wsgi_application()

from incidents.events_views import EventsFrontDoor  # noqa: E402  (needs Django set up)
from statuspages.herd import StatusPageHerdShortcut  # noqa: E402

application = StatusPageHerdShortcut(EventsFrontDoor(application))
