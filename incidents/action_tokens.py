"""Signed, expiring, single-purpose tokens for one-click acknowledge/resolve links.

A token names one incident, one user and one action, and is signed with ``SECRET_KEY`` under a
salt bound to the action, so an "acknowledge" link can never be replayed as "resolve", and
nothing in it can be edited. Each token carries its own expiry (``ttl``); every token is also
bounded by ``MAX_TTL`` whatever it claims.

Replay: a token is not single-use. Clicking the same link twice is harmless because the
actions are idempotent (acknowledging an acknowledged incident changes nothing); the view
that consumes a token decides what a second use means (e.g. "already acknowledged by X").

The view must not act on a plain GET: mail scanners and link previewers fetch links in
e-mails. It should show a confirmation page on GET and act on POST.
"""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core import signing

ACTIONS = ("acknowledge", "resolve")
DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=7)
#: Where the (future) one-click view lives; ``action_url`` builds links to it.
ACTION_URL_PATH = "/incidents/actions/{token}/"


class InvalidActionToken(signing.BadSignature):
    """The token is malformed, tampered with, or made for another action."""


class ExpiredActionToken(InvalidActionToken, signing.SignatureExpired):
    """The token was genuine but its time is up."""


def _salt(action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"Unknown incident action {action!r}; expected one of {ACTIONS}")
    return f"alert24.incidents.action.{action}"


def _seconds(ttl: timedelta | int | float) -> int:
    return int(ttl.total_seconds() if isinstance(ttl, timedelta) else ttl)


def make_action_token(
    incident_id: UUID | str | int,
    user_id: UUID | str | int,
    action: str,
    ttl: timedelta | int | float = DEFAULT_TTL,
) -> str:
    """Sign ``(incident, user, action)`` for ``ttl`` (at most ``MAX_TTL``); URL-safe."""
    seconds = _seconds(ttl)
    if not 0 < seconds <= MAX_TTL.total_seconds():
        raise ValueError(f"ttl must be between 1 second and {MAX_TTL}")
    payload = {
        "i": str(incident_id),
        "u": str(user_id),
        "a": action,
        "e": int(time.time()) + seconds,
    }
    return signing.dumps(payload, salt=_salt(action), compress=True)


def read_action_token(token: str, expected_action: str) -> tuple[str, str]:
    """Return ``(incident_id, user_id)`` from a token made for ``expected_action``.

    Raises :class:`ExpiredActionToken` when it is out of time and :class:`InvalidActionToken`
    for anything else (tampered, wrong action, garbage). Ids come back as strings.
    """
    salt = _salt(expected_action)
    try:
        payload = signing.loads(token, salt=salt, max_age=MAX_TTL)
    except signing.SignatureExpired as exc:
        raise ExpiredActionToken(str(exc)) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidActionToken("invalid action token") from exc
    if not isinstance(payload, dict) or payload.get("a") != expected_action:
        raise InvalidActionToken("token was not made for this action")
    if int(payload.get("e", 0)) < time.time():
        raise ExpiredActionToken("action token expired")
    return str(payload["i"]), str(payload["u"])


def action_url(
    incident_id: UUID | str | int,
    user_id: UUID | str | int,
    action: str,
    ttl: timedelta | int | float = DEFAULT_TTL,
) -> str:
    """An absolute one-click link (``SITE_URL`` + ``ACTION_URL_PATH``) carrying a token."""
    token = make_action_token(incident_id, user_id, action, ttl)
    return settings.SITE_URL + ACTION_URL_PATH.format(token=token)
