"""Slack incoming webhooks: a Block Kit message with the incident and its links.

Untrusted text (titles, summaries, service names) goes into mrkdwn with ``&``, ``<`` and
``>`` escaped, so an incident titled ``<!channel>`` or ``<https://evil|click>`` cannot ping
a channel or disguise a link. Plain-text objects (the header, button labels) are not parsed
by Slack and are sent as they are.
"""

from __future__ import annotations

import json
from typing import Any

from incidents.channels._http import post_json_body
from incidents.channels.base import DeliveryResult, Message, one_line, truncate

STATUS_EMOJI = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:"}


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters, as Slack's formatting guide requires."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _button(label: str, url: str, action_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "url": url,
        "action_id": action_id,
    }
    if style:
        button["style"] = style
    return button


def slack_payload(message: Message) -> dict[str, Any]:
    """The JSON body for ``chat.postMessage``-style incoming webhooks."""
    emoji = STATUS_EMOJI.get(message.status, ":large_green_circle:")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": one_line(message.headline, 150)},
        }
    ]
    if message.summary:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": escape_mrkdwn(truncate(message.summary, 2900))},
            }
        )
    fields = [
        (name, value)
        for name, value in (
            ("Severity", message.severity),
            ("Urgency", message.urgency),
            ("Status", message.status),
            ("Service", message.service_name),
        )
        if value
    ]
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{escape_mrkdwn(one_line(value, 200))}"}
                    for name, value in fields
                ],
            }
        )
    buttons = []
    if message.incident_url:
        buttons.append(_button("View incident", message.incident_url, "alert24_view"))
    if message.acknowledge_url and message.status == "triggered":
        buttons.append(
            _button("Acknowledge", message.acknowledge_url, "alert24_acknowledge", "primary")
        )
    if message.resolve_url and message.status != "resolved":
        buttons.append(_button("Resolve", message.resolve_url, "alert24_resolve", "danger"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {
        # Fallback for notifications and clients without Block Kit; mrkdwn, so escaped.
        "text": f"{emoji} [Alert24] {escape_mrkdwn(one_line(message.headline, 300))}",
        "blocks": blocks,
    }


class SlackChannel:
    """Posts to one Slack incoming-webhook URL (``https://hooks.slack.com/services/…``)."""

    kind = "slack"

    def send(self, target: str, message: Message) -> DeliveryResult:
        body = json.dumps(slack_payload(message)).encode()
        _, result = post_json_body(target, body)
        return result
