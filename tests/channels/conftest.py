import uuid

import pytest

from incidents.channels import Message


@pytest.fixture
def channel_settings(settings):
    """Short timeouts, and private targets allowed so 127.0.0.1 stand-ins are reachable."""
    settings.NOTIFICATION_HTTP_TIMEOUT = 2.0
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.SITE_URL = "https://alert24.example.com"
    return settings


@pytest.fixture
def message() -> Message:
    incident_id = str(uuid.uuid4())
    return Message(
        incident_id=incident_id,
        title="Checkout API down",
        summary="HTTP 503 from 3 locations since 10:02 UTC.",
        severity="critical",
        urgency="high",
        status="triggered",
        service_name="Checkout",
        incident_url=f"https://alert24.example.com/incidents/{incident_id}/",
        acknowledge_url=f"https://alert24.example.com/incidents/{incident_id}/acknowledge/",
        resolve_url=f"https://alert24.example.com/incidents/{incident_id}/resolve/",
        idempotency_key=f"{incident_id}:triggered:u1:attempt1",
    )
