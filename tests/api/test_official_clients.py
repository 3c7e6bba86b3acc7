"""The official PagerDuty clients work against Alert24 with only their URL changed.

Alert24 is served over TLS (a trustme certificate) from a real WSGI server thread, since
the ``pagerduty`` client refuses any base URL but ``https://``. The server thread has its
own database connection, so the test runs with committed data (``transactional_db``) —
which also shows that each accepted event is committed before its 202.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pagerduty
import pdpyras
import pytest
import trustme
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections

from accounts.models import Organization
from incidents import event_inbox
from incidents.models import Incident, ServiceIntegration
from tests.incidents.factories import service

pytestmark = pytest.mark.integration


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class ClosingServer(WSGIServer):
    """Closes the thread's database connections when it stops."""

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        try:
            super().serve_forever(poll_interval)
        finally:
            connections.close_all()


@pytest.fixture
def tls_server(transactional_db, tmp_path) -> Iterator[tuple[str, trustme.CA, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server = make_server(
        "127.0.0.1", 0, WSGIHandler(), server_class=ClosingServer, handler_class=QuietHandler
    )
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        yield f"https://127.0.0.1:{server.server_port}", ca, str(ca_file)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def routing_key(transactional_db) -> str:
    organization = Organization.objects.create(name="Acme", slug="acme")
    svc = service(organization, name="Checkout")
    return ServiceIntegration.objects.create(organization=organization, service=svc).integration_key


def _status(dedup_key: str) -> str:
    # 202 means accepted (as at PagerDuty); the server's applier thread applies events a
    # few milliseconds later. Applying what waits here, rather than sleeping, makes the
    # check exact: it waits for a batch the thread has in hand, then applies the rest.
    event_inbox.apply_waiting()
    return Incident.objects.get(dedup_key=dedup_key).status


def test_pagerduty_events_api_v2_client(tls_server, routing_key):
    base_url, ca, _ = tls_server
    context = ssl.create_default_context()
    ca.configure_trust(context)
    client = pagerduty.EventsApiV2Client(routing_key, base_url=base_url, verify=context)
    dedup_key = client.trigger(
        "Checkout is down", "web-1", severity="error", custom_details={"region": "eu"}
    )
    assert len(dedup_key) == 32
    assert _status(dedup_key) == "triggered"
    assert Incident.objects.get(dedup_key=dedup_key).severity == "high"
    assert client.trigger("Again", "web-1", dedup_key=dedup_key) == dedup_key
    assert client.acknowledge(dedup_key) == dedup_key
    assert _status(dedup_key) == "acknowledged"
    assert client.resolve(dedup_key) == dedup_key
    assert _status(dedup_key) == "resolved"
    client.submit("Deployed v2", source="ci", timestamp="2026-11-25T10:00:00Z")
    with pytest.raises(pagerduty.HttpError) as refused:
        client.trigger("", "web-1")
    assert refused.value.response.status_code == 400


def test_pdpyras_events_api_session(tls_server, routing_key):
    base_url, _, ca_file = tls_server
    session = pdpyras.EventsAPISession(routing_key)
    session.url = base_url
    session.verify = ca_file
    session.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment would win
    dedup_key = session.trigger("Database down", "db-1", dedup_key="db-1-down", severity="critical")
    assert dedup_key == "db-1-down"
    assert _status(dedup_key) == "triggered"
    assert session.acknowledge(dedup_key) == dedup_key
    assert _status(dedup_key) == "acknowledged"
    assert session.resolve(dedup_key) == dedup_key
    assert _status(dedup_key) == "resolved"
    assert session.trigger("Database down", "db-1", dedup_key="db-1-down") == "db-1-down"
    event_inbox.apply_waiting()
    assert Incident.objects.filter(dedup_key="db-1-down").count() == 2
