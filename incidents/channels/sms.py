"""SMS through Twilio's Messages API (official SDK)."""

from __future__ import annotations

from django.conf import settings

from incidents.channels._twilio import call_twilio
from incidents.channels.base import DeliveryResult, Message, one_line

REPLY_HINT = "Reply 4 to ack, 6 to resolve"
#: Two GSM segments; longer texts cost more and arrive split on some phones.
MAX_SMS = 306


def sms_body(message: Message) -> str:
    """``[Alert24] TRIGGERED high: <title> (<service>) <url> Reply 4 to ack, 6 to resolve``.

    The title is shortened, never the link or the reply hint, so the text stays actionable.
    """
    label = (message.status or "update").upper()
    if message.severity:
        label += f" {message.severity}"
    tail = ""
    if message.service_name:
        tail += f" ({one_line(message.service_name, 40)})"
    if message.incident_url:
        tail += f" {message.incident_url}"
    tail += f" {REPLY_HINT}"
    head = f"[Alert24] {label}: "
    room = max(20, MAX_SMS - len(head) - len(tail))
    return head + one_line(message.title, room) + tail


class SmsChannel:
    """Texts one phone number (E.164) through Twilio."""

    kind = "sms"

    def send(self, target: str, message: Message) -> DeliveryResult:
        return call_twilio(
            target,
            lambda client: client.messages.create(
                to=target, from_=settings.TWILIO_FROM_NUMBER, body=sms_body(message)
            ),
        )
