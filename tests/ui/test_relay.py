"""The LISTEN relay: a change written by any path reaches the publisher."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from incidents import lifecycle, live

pytestmark = pytest.mark.django_db(transaction=True)


def test_relay_publishes_database_notifications(crew, api):
    published, ready = [], threading.Event()

    def publisher(organization_id, data):
        published.append((str(organization_id), data))

    def run():
        try:
            ready.set()
            live.relay_notifications(
                timeout=0.2, stop=lambda: len(published) >= 2, publisher=publisher
            )
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    ready.wait()
    time.sleep(0.5)  # LISTEN issued
    incident = lifecycle.open_incident(api, "Relayed").incident
    lifecycle.acknowledge(incident, crew.responder)
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert [data["status"] for _, data in published] == ["triggered", "acknowledged"]
    assert {org for org, _ in published} == {str(incident.organization_id)}
