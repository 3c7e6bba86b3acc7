"""``manage.py relay_incident_changes``: push every incident change to browsers via Pusher.

Only useful with ``PUSHER_*`` configured. The database notifies ``incident_changes`` on
every incident insert and status change whatever wrote it (the escalation sweep's
timeouts, raw SQL); this long-running process turns each into an ``incident-changed``
event. Run one (or more: duplicates only cost a refetch) beside the Celery worker.
"""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError

from incidents import live


class Command(BaseCommand):
    help = "Relay PostgreSQL incident_changes notifications to Pusher Channels."

    def handle(self, *args, **options) -> None:
        if not live.pusher_configured():
            raise CommandError("Set PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET first.")
        self.stdout.write("Relaying incident_changes to Pusher; Ctrl-C stops.")
        with contextlib.suppress(KeyboardInterrupt):
            live.relay_notifications()
