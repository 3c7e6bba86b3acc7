"""Phone calls through Twilio's Calls API with inline TwiML (official SDK)."""

from __future__ import annotations

from django.conf import settings

from incidents.channels._twilio import call_twilio
from incidents.channels.base import DeliveryResult, Message
from incidents.channels.twiml import incident_call_response


class VoiceChannel:
    """Calls one phone number (E.164), reads the incident and gathers 4/6."""

    kind = "voice"

    def __init__(self, gather_action_url: str | None = None) -> None:
        self.gather_action_url = gather_action_url

    def send(self, target: str, message: Message) -> DeliveryResult:
        twiml = str(incident_call_response(message, self.gather_action_url))
        return call_twilio(
            target,
            lambda client: client.calls.create(
                to=target, from_=settings.TWILIO_FROM_NUMBER, twiml=twiml
            ),
        )
