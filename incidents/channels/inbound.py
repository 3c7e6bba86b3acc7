"""Checks for what Twilio sends us: request signatures and SMS replies.

Twilio signs every webhook with the account auth token (``X-Twilio-Signature``); an inbound
view must reject anything whose signature does not verify before reading a single parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from twilio.request_validator import RequestValidator

ACTION_WORDS = {
    "4": "acknowledge",
    "ack": "acknowledge",
    "acked": "acknowledge",
    "acknowledge": "acknowledge",
    "acknowledged": "acknowledge",
    "6": "resolve",
    "res": "resolve",
    "resolve": "resolve",
    "resolved": "resolve",
}
INCIDENT_REF = re.compile(r"^#?([0-9a-z][0-9a-z-]{0,35})$")


def verify_twilio_signature(url: str, params: Mapping[str, Any], signature: str) -> bool:
    """True when ``signature`` is Twilio's signature of ``url`` + ``params``.

    ``url`` is the full URL Twilio requested (scheme, host, path, query) as Twilio saw it —
    behind a proxy, build it from the public host. ``params`` is the POST form (a Django
    ``QueryDict`` works). Without a configured auth token nothing verifies.
    """
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def parse_sms_reply(body: str) -> tuple[str, str | None] | None:
    """Read a responder's SMS reply as ``(action, incident_ref or None)``, or None.

    Accepts a digit or word, optionally both, optionally followed by an incident reference:
    ``4``, ``4 ack``, ``ack``, ``6 resolve``, ``resolve 123``, ``ACK #a1b2``. Anything else
    (including contradictions like ``4 resolve`` or extra words) is None: a pager must never
    guess which action was meant.
    """
    words = re.sub(r"[.,!;:]+", " ", (body or "").lower()).split()
    if not words or words[0] not in ACTION_WORDS:
        return None
    action = ACTION_WORDS[words[0]]
    rest = words[1:]
    if rest and rest[0] in ACTION_WORDS:
        if ACTION_WORDS[rest[0]] != action:
            return None
        rest = rest[1:]
    if not rest:
        return action, None
    if len(rest) == 1 and (match := INCIDENT_REF.match(rest[0])):
        return action, match.group(1)
    return None
