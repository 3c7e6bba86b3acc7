import uuid

import pytest

from incidents.channels import Message


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
