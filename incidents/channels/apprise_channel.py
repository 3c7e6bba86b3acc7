"""Any Apprise URL (``tgram://``, ``discord://``, ``ntfys://``, ``pover://``, ``json://`` …).

Apprise reports a failed delivery as a status plus log lines rather than an exception; the
log lines become the error text, and an HTTP status in them decides whether a retry can
help. The URL (which holds the service's credentials) is never put in an error: only its
privacy-masked form is.

The generic HTTP schemas (``json``, ``xml``, ``form`` and their ``s`` variants) can reach any
host, so their host gets the same public-address check as webhooks. Other schemas talk to
fixed provider hosts, or (self-hosted ones like ``ntfy://host``) are not checked; Apprise
opens its own connections, so the check can't pin the address against DNS rebinding.
"""

from __future__ import annotations

import re
import socket

import apprise
from django.conf import settings

from incidents.channels._http import BlockedTarget, resolve_target
from incidents.channels.base import DeliveryResult, Message, one_line

GENERIC_HTTP_SCHEMAS = {"json", "jsons", "xml", "xmls", "form", "forms"}
NOTIFY_TYPE = {
    "triggered": apprise.NotifyType.FAILURE,
    "acknowledged": apprise.NotifyType.WARNING,
    "resolved": apprise.NotifyType.SUCCESS,
}
HTTP_ERROR = re.compile(r"error=(\d{3})")


def apprise_body(message: Message) -> str:
    """Plain text: service, severity, summary and links, one per line."""
    lines = []
    facts = ", ".join(
        f"{name}: {value}"
        for name, value in (
            ("service", message.service_name),
            ("severity", message.severity),
            ("urgency", message.urgency),
        )
        if value
    )
    if facts:
        lines.append(facts)
    if message.summary:
        lines.append(message.summary)
    for label, url in (
        ("View", message.incident_url),
        ("Acknowledge", message.acknowledge_url if message.status == "triggered" else ""),
        ("Resolve", message.resolve_url if message.status != "resolved" else ""),
    ):
        if url:
            lines.append(f"{label}: {url}")
    return "\n".join(lines) or message.headline


class AppriseChannel:
    """Sends to one Apprise URL."""

    kind = "apprise"

    def send(self, target: str, message: Message) -> DeliveryResult:
        plugin = apprise.Apprise.instantiate(target)
        if plugin is None:
            scheme = target.partition("://")[0] if "://" in target else ""
            return DeliveryResult.failed(
                f"not a valid Apprise URL (scheme {scheme!r} unknown, or URL incomplete)",
                retryable=False,
            )
        masked = plugin.url(privacy=True).split("?")[0]
        schema = target.partition("://")[0].lower()
        if schema in GENERIC_HTTP_SCHEMAS:
            secure = schema.endswith("s")
            try:
                resolve_target(str(plugin.host), int(plugin.port or (443 if secure else 80)))
            except BlockedTarget as exc:
                return DeliveryResult.failed(str(exc), retryable=False)
            except (socket.gaierror, UnicodeError) as exc:
                return DeliveryResult.failed(f"cannot resolve {plugin.host}: {exc}", retryable=True)

        timeout = float(settings.NOTIFICATION_HTTP_TIMEOUT)
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        notifier = apprise.Apprise(asset=apprise.AppriseAsset(app_id="Alert24"))
        notifier.add(plugin)
        result = notifier.notify(
            body=apprise_body(message),
            title=one_line(f"[Alert24] {message.headline}", 250),
            notify_type=NOTIFY_TYPE.get(message.status, apprise.NotifyType.INFO),
            # Whole call: connect + read + Apprise's own throttling, with room to spare.
            timeout=timeout * 2 + 1,
        )
        if result:
            return DeliveryResult.sent()
        log = " ".join(
            entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")
        )
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            return DeliveryResult.failed(f"{masked}: timed out after {timeout:g}s", retryable=True)
        codes = [int(code) for code in HTTP_ERROR.findall(log)]
        retryable = not codes or any(code >= 500 or code in (408, 429) for code in codes)
        return DeliveryResult.failed(
            f"{masked}: {one_line(log, 300) or 'delivery failed'}", retryable=retryable
        )
