"""Notification channels: each delivers one message to one target behind one interface.

    from incidents.channels import Message, get_channel
    result = get_channel("sms").send("+15551234567", message)

See :mod:`incidents.channels.base` for ``Message``, ``DeliveryResult`` and the registry.
"""

from incidents.channels.base import (
    CHANNEL_KINDS,
    Channel,
    DeliveryResult,
    Message,
    deliver,
    get_channel,
)

__all__ = ["CHANNEL_KINDS", "Channel", "DeliveryResult", "Message", "deliver", "get_channel"]
