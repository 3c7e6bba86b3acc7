"""Generic outgoing webhooks: a signed JSON POST that a receiver can verify.

Headers: ``X-Alert24-Event`` (``incident.triggered`` …), ``X-Alert24-Timestamp`` (Unix
seconds), ``X-Alert24-Signature: sha256=<hex>`` and ``Idempotency-Key`` (same on every retry
of one attempt, so receivers can drop duplicates). The signature is HMAC-SHA256 with the
endpoint secret over ``"<timestamp>." + raw body``: binding the timestamp lets a receiver
refuse replays of an old, validly signed request (see :func:`verify`'s ``tolerance``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from incidents.channels._http import post
from incidents.channels._http import result_for_response as _result_for_response
from incidents.channels.base import DeliveryResult, Message

SIGNATURE_HEADER = "X-Alert24-Signature"
TIMESTAMP_HEADER = "X-Alert24-Timestamp"
EVENT_HEADER = "X-Alert24-Event"
DEFAULT_TOLERANCE = 300


def sign(body: bytes, secret: str, timestamp: int | str) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    body: bytes,
    secret: str,
    timestamp: int | str,
    signature: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """For receivers: the signature matches and the timestamp is within ``tolerance`` s.

    The age check is what stops a captured request from being replayed later; ``tolerance=0``
    turns it off (only for re-verifying stored requests). Comparison is constant-time.
    """
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    if tolerance and age > tolerance:
        return False
    return hmac.compare_digest(sign(body, secret, timestamp), signature or "")


def webhook_payload(message: Message, sent_at: datetime) -> dict[str, Any]:
    """The JSON document receivers get; field names are part of the public contract."""
    return {
        "event": message.event,
        "idempotency_key": message.idempotency_key,
        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
        "incident": {
            "id": str(message.incident_id),
            "title": message.title,
            "summary": message.summary,
            "status": message.status,
            "severity": message.severity,
            "urgency": message.urgency,
            "service": message.service_name,
            "url": message.incident_url,
            "acknowledge_url": message.acknowledge_url,
            "resolve_url": message.resolve_url,
        },
        "extra": message.extra,
    }


class WebhookChannel:
    """POSTs a signed JSON document to one URL; ``secret`` is that endpoint's signing key.

    Without a secret the request is sent unsigned (no signature header).
    """

    kind = "webhook"

    def __init__(self, secret: str = "") -> None:
        self.secret = secret

    def send(self, target: str, message: Message) -> DeliveryResult:
        now = time.time()
        body = json.dumps(
            webhook_payload(message, datetime.fromtimestamp(now, UTC)),
            separators=(",", ":"),
            default=str,
        ).encode()
        timestamp = str(int(now))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: message.event,
            TIMESTAMP_HEADER: timestamp,
        }
        if message.idempotency_key:
            headers["Idempotency-Key"] = message.idempotency_key
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret, timestamp)
        response, failure = post(target, content=body, headers=headers)
        if failure is not None:
            return failure
        assert response is not None
        return _result_for_response(response, response.headers.get("x-request-id", ""))
