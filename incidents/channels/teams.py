"""Microsoft Teams incoming webhooks: a message carrying an Adaptive Card.

Office 365 connector webhooks are being retired in favour of Workflows ("Post to a channel
when a webhook request is received"); both accept this shape — a ``message`` whose single
attachment is an Adaptive Card (version 1.4, ``Action.OpenUrl`` links). The legacy
MessageCard format is not accepted by Workflows, so it is not used. Teams renders no HTML in
cards, and text is never placed in a URL, so untrusted text can't inject markup or links
beyond Adaptive Cards' own limited Markdown.
"""

from __future__ import annotations

import json
from typing import Any

from incidents.channels._http import post_json_body
from incidents.channels.base import DeliveryResult, Message, one_line, truncate

STATUS_COLOR = {"triggered": "Attention", "acknowledged": "Warning", "resolved": "Good"}


def teams_payload(message: Message) -> dict[str, Any]:
    """The JSON body for a Teams incoming webhook / Workflows webhook."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": one_line(f"[Alert24] {message.headline}", 300),
            "weight": "Bolder",
            "size": "Medium",
            "color": STATUS_COLOR.get(message.status, "Default"),
            "wrap": True,
        }
    ]
    if message.summary:
        body.append({"type": "TextBlock", "text": truncate(message.summary, 2000), "wrap": True})
    facts = [
        {"title": name, "value": one_line(value, 200)}
        for name, value in (
            ("Severity", message.severity),
            ("Urgency", message.urgency),
            ("Status", message.status),
            ("Service", message.service_name),
        )
        if value
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    actions = []
    if message.incident_url:
        actions.append(
            {"type": "Action.OpenUrl", "title": "View incident", "url": message.incident_url}
        )
    if message.acknowledge_url and message.status == "triggered":
        actions.append(
            {"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.acknowledge_url}
        )
    if message.resolve_url and message.status != "resolved":
        actions.append({"type": "Action.OpenUrl", "title": "Resolve", "url": message.resolve_url})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


class TeamsChannel:
    """Posts to one Teams incoming-webhook or Workflows webhook URL."""

    kind = "teams"

    def send(self, target: str, message: Message) -> DeliveryResult:
        body = json.dumps(teams_payload(message)).encode()
        _, result = post_json_body(target, body)
        return result
