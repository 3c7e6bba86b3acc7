"""TwiML for incident phone calls, and the meaning of the digit a responder presses.

The call reads the incident and gathers one digit: 4 acknowledges, 6 resolves (the same
digits an SMS reply uses). Twilio posts the digit to ``gather_action_url``; the view there
(not written yet) verifies the signature (``inbound.verify_twilio_signature``), maps the
digit with :func:`action_for_digit` and answers with :func:`confirmation_response`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from twilio.twiml.voice_response import VoiceResponse

from incidents.channels.base import Message, one_line

DIGIT_ACTIONS = {"4": "acknowledge", "6": "resolve"}
#: Where Twilio posts the gathered digit; the view is for the inbound-webhook work to add.
VOICE_GATHER_PATH = "/webhooks/twilio/voice/gather/"


def gather_action_url(message: Message) -> str:
    """Absolute URL Twilio posts the digit to, naming the incident."""
    query = urlencode({"incident": message.incident_id})
    return f"{settings.SITE_URL}{VOICE_GATHER_PATH}?{query}"


def spoken_text(message: Message) -> str:
    """What the call says, short enough to listen to (titles are cut at 200 characters)."""
    parts = [f"This is Alert24. A {message.severity or ''} incident is {message.status}."]
    if message.service_name:
        parts.append(f"Service: {one_line(message.service_name, 100)}.")
    parts.append(f"{one_line(message.title, 200)}.")
    parts.append("Press 4 to acknowledge, 6 to resolve.")
    return " ".join(" ".join(parts).split())


def incident_call_response(message: Message, action_url: str | None = None) -> VoiceResponse:
    """``<Response><Gather numDigits=1 action=...><Say>…</Say></Gather><Say>…``.

    The incident is read twice inside the Gather so a responder waking up can catch it; with
    no key pressed the call ends politely and escalation goes on as if unanswered.
    """
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        action=action_url or gather_action_url(message),
        method="POST",
        timeout=8,
    )
    gather.say(spoken_text(message), loop=2)
    response.say("No key was pressed. Goodbye.")
    response.hangup()
    return response


def action_for_digit(digits: str | None) -> str | None:
    """``"4"`` → ``"acknowledge"``, ``"6"`` → ``"resolve"``, anything else → None."""
    return DIGIT_ACTIONS.get((digits or "").strip())


def confirmation_response(action: str | None, done: bool = True) -> VoiceResponse:
    """What the caller hears after pressing a key."""
    response = VoiceResponse()
    if action is None:
        response.say("Sorry, that key does nothing. Press 4 to acknowledge, 6 to resolve.")
    elif done:
        response.say(f"The incident is {action}d. Goodbye.")
    else:
        response.say(f"The incident could not be {action}d. Please use the web app.")
    response.hangup()
    return response
