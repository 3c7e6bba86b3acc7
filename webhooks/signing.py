"""Signing outgoing webhooks, and the check a receiver runs (Stripe's scheme).

Every delivery carries ``X-Alert24-Signature: t=<unix seconds>,v1=<hex>``, where the hex
is HMAC-SHA256, keyed with the endpoint's secret, over ``"<t>." + raw request body``.
Signing the timestamp with the body lets a receiver refuse a captured request replayed
later (:func:`verify`'s ``tolerance``); ``v1`` names the scheme so a future one can be
sent alongside during a migration, and a receiver accepts any ``v1`` that matches (several
appear while a secret is being rotated).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Alert24-Signature"
EVENT_ID_HEADER = "X-Alert24-Event-Id"
EVENT_TYPE_HEADER = "X-Alert24-Event"
DELIVERY_HEADER = "X-Alert24-Delivery"
ATTEMPT_HEADER = "X-Alert24-Delivery-Attempt"
DEFAULT_TOLERANCE = 300


def compute(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1`` value: hex HMAC-SHA256(secret, ``"<timestamp>." + body``)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Alert24-Signature`` value for ``body``, signed now unless told when."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute(secret, timestamp, body)}"


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """For receivers: ``header`` signs ``body`` with ``secret`` and is at most
    ``tolerance`` seconds old (``0`` skips the age check, for re-verifying stored requests).

    Comparison is constant-time; a malformed header is simply not valid.
    """
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    try:
        age = abs((time.time() if now is None else now) - int(timestamp or ""))
    except ValueError:
        return False
    if tolerance and age > tolerance:
        return False
    expected = compute(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
