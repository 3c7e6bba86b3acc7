"""The one interface every notification channel implements, and the registry that finds them.

A channel delivers one message to one target (an address, a phone number, a webhook URL) and
reports what happened as a :class:`DeliveryResult`. Channels never raise for provider
problems: the caller (the delivery task that writes ``notification_history``) needs a status
and a "may I retry?" answer for every attempt, not an exception to interpret.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

logger = logging.getLogger(__name__)

Status = Literal["sent", "delivered", "failed", "skipped"]

#: Every kind ``get_channel`` knows, mapped to ``module:Class`` so heavy SDKs (Twilio,
#: Apprise) are imported only by the worker that actually uses them.
CHANNEL_KINDS: dict[str, str] = {
    "email": "incidents.channels.email:EmailChannel",
    "sms": "incidents.channels.sms:SmsChannel",
    "voice": "incidents.channels.voice:VoiceChannel",
    "slack": "incidents.channels.slack:SlackChannel",
    "teams": "incidents.channels.teams:TeamsChannel",
    "webhook": "incidents.channels.webhook:WebhookChannel",
    "apprise": "incidents.channels.apprise_channel:AppriseChannel",
}


@dataclass(frozen=True)
class Message:
    """What a notification says, independent of the channel that says it.

    Built once per (incident, event, recipient) by the caller. ``acknowledge_url`` and
    ``resolve_url`` are whatever the caller wants a recipient to click: for a personal channel
    (e-mail) usually one-click token links from :mod:`incidents.action_tokens`, for a shared
    one (a Slack channel) links that require login, or nothing.
    """

    incident_id: str
    title: str
    summary: str = ""
    severity: str = ""
    urgency: str = ""
    status: str = "triggered"
    service_name: str = ""
    incident_url: str = ""
    acknowledge_url: str = ""
    resolve_url: str = ""
    #: Stable across retries of the same attempt, so providers and receivers can dedupe.
    idempotency_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> str:
        """The event name used by webhooks, e.g. ``incident.triggered``."""
        return f"incident.{self.status or 'updated'}"

    @property
    def headline(self) -> str:
        """``TRIGGERED: <title>``, the one line every channel leads with."""
        return f"{(self.status or 'update').upper()}: {one_line(self.title)}"


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one delivery attempt.

    ``retryable`` tells the caller whether trying the same attempt again can help: True for
    5xx answers, timeouts and connection errors, False for 4xx/validation problems, where a
    retry would fail the same way.
    """

    status: Status
    provider_id: str = ""
    error: str = ""
    retryable: bool = False
    skipped_reason: str = ""

    @classmethod
    def sent(cls, provider_id: str = "") -> DeliveryResult:
        return cls(status="sent", provider_id=provider_id)

    @classmethod
    def failed(cls, error: str, *, retryable: bool) -> DeliveryResult:
        return cls(status="failed", error=error, retryable=retryable)

    @classmethod
    def skipped(cls, reason: str) -> DeliveryResult:
        return cls(status="skipped", skipped_reason=reason)

    @property
    def ok(self) -> bool:
        """True when the provider accepted the message."""
        return self.status in ("sent", "delivered")


@runtime_checkable
class Channel(Protocol):
    """Delivers one message to one target; returns a result instead of raising."""

    kind: str

    def send(self, target: str, message: Message) -> DeliveryResult: ...


def get_channel(kind: str, **options: Any) -> Channel:
    """Return a ready channel of ``kind``; ``options`` go to its constructor.

    Channels are cheap objects configured from settings at send time; options carry what is
    per-endpoint rather than global (e.g. ``secret=`` for a webhook endpoint).
    """
    try:
        module_name, class_name = CHANNEL_KINDS[kind].split(":")
    except KeyError:
        raise ValueError(f"Unknown notification channel kind {kind!r}") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**options)


def deliver(kind: str, target: str, message: Message, **options: Any) -> DeliveryResult:
    """Send through ``kind`` and turn even an unexpected bug into a recorded failure.

    Channels map every provider problem themselves; this is the last line so a delivery task
    always has a result to record. A bug is not retryable: it fails the same way next time.
    """
    try:
        return get_channel(kind, **options).send(target, message)
    except Exception as exc:
        logger.exception("Notification channel %s crashed", kind)
        return DeliveryResult.failed(f"internal error: {type(exc).__name__}", retryable=False)


def one_line(text: str, limit: int = 0) -> str:
    """Collapse whitespace (no newlines in subjects/headers) and optionally truncate."""
    text = " ".join((text or "").split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, marking the cut, keeping line breaks."""
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
