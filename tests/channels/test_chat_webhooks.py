"""Slack and Teams incoming webhooks against local servers that answer like them."""

import dataclasses
import time

import pytest

from incidents.channels import get_channel
from incidents.channels.slack import escape_mrkdwn

from .servers import HangingServer, RecordingServer, Reply


def slack_like(request) -> Reply:
    """Slack's answers: 200 "ok", 400 "invalid_payload", 404 "no_team", 500 "rollup_error"."""
    path = request.path
    if path.endswith("/gone"):
        return Reply(404, "no_team")
    if path.endswith("/broken"):
        return Reply(500, "rollup_error")
    if path.endswith("/ratelimited"):
        return Reply(429, "rate_limited", {"Retry-After": "30"})
    if path.endswith("/redirect"):
        return Reply(302, "", {"Location": "http://169.254.169.254/latest/meta-data/"})
    payload = request.json()
    if "text" not in payload and "blocks" not in payload:
        return Reply(400, "invalid_payload")
    return Reply(200, "ok")


@pytest.fixture
def slack(channel_settings):
    with RecordingServer(slack_like) as server:
        yield server


def test_slack_block_kit_message(slack, message):
    url = f"{slack.url}/services/T000/B000/XXXX"
    result = get_channel("slack").send(url, message)

    assert result.status == "sent", result
    (request,) = slack.requests
    assert request.path == "/services/T000/B000/XXXX"
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert "TRIGGERED: Checkout API down" in payload["text"]
    blocks = payload["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "TRIGGERED: Checkout API down"},
    }
    fields = next(b for b in blocks if b["type"] == "section" and "fields" in b)["fields"]
    assert {"type": "mrkdwn", "text": "*Severity*\ncritical"} in fields
    assert {"type": "mrkdwn", "text": "*Status*\ntriggered"} in fields
    assert {"type": "mrkdwn", "text": "*Service*\nCheckout"} in fields
    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [
        ("View incident", message.incident_url),
        ("Acknowledge", message.acknowledge_url),
        ("Resolve", message.resolve_url),
    ]


def test_slack_resolved_message_has_no_action_buttons(slack, message):
    resolved = dataclasses.replace(message, status="resolved")
    assert get_channel("slack").send(f"{slack.url}/hook", resolved).status == "sent"
    buttons = next(b for b in slack.requests[0].json()["blocks"] if b["type"] == "actions")
    assert [b["text"]["text"] for b in buttons["elements"]] == ["View incident"]


def test_slack_escapes_mrkdwn_control_characters(slack, message):
    evil = dataclasses.replace(
        message,
        title="<!channel> pwned & <https://evil.example|click>",
        summary="<@U123> see <https://evil.example|here>",
        service_name="<!here>",
    )
    assert get_channel("slack").send(f"{slack.url}/hook", evil).status == "sent"
    payload = slack.requests[0].json()
    assert "&lt;!channel&gt; pwned &amp; &lt;https://evil.example|click&gt;" in payload["text"]
    mrkdwn = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] == "section":
            mrkdwn += [block["text"]["text"]] if "text" in block else []
            mrkdwn += [field["text"] for field in block.get("fields", [])]
    assert all("<" not in text and ">" not in text for text in mrkdwn)
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


@pytest.mark.parametrize(
    ("path", "retryable", "snippet"),
    [
        ("/gone", False, "404"),
        ("/broken", True, "500"),
        ("/ratelimited", True, "429"),
        ("/redirect", False, "redirects are not followed"),
    ],
)
def test_slack_errors(slack, message, path, retryable, snippet):
    result = get_channel("slack").send(slack.url + path, message)
    assert (result.status, result.retryable) == ("failed", retryable)
    assert snippet in result.error
    assert len(slack.requests) == 1  # the redirect was not followed


def teams_like(request) -> Reply:
    """Workflows webhooks answer 202 Accepted; a bad card is a 400 with an error JSON."""
    if request.path.endswith("/broken"):
        return Reply(502, "Bad Gateway")
    if request.path.endswith("/deleted"):
        return Reply(404, {"error": {"code": "WorkflowNotFound"}})
    payload = request.json()
    attachments = payload.get("attachments") or []
    ok = (
        payload.get("type") == "message"
        and len(attachments) == 1
        and attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        and attachments[0]["content"]["type"] == "AdaptiveCard"
    )
    if not ok:
        return Reply(400, {"error": {"code": "InvalidRequestContent"}})
    return Reply(202, "")


@pytest.fixture
def teams(channel_settings):
    with RecordingServer(teams_like) as server:
        yield server


def test_teams_adaptive_card(teams, message):
    result = get_channel("teams").send(f"{teams.url}/workflows/abc/triggers/manual/run", message)

    assert result.status == "sent", result
    card = teams.requests[0].json()["attachments"][0]["content"]
    assert card["version"] == "1.4"
    assert card["body"][0]["text"] == "[Alert24] TRIGGERED: Checkout API down"
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts == {
        "Severity": "critical",
        "Urgency": "high",
        "Status": "triggered",
        "Service": "Checkout",
    }
    assert [(a["type"], a["title"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "View incident", message.incident_url),
        ("Action.OpenUrl", "Acknowledge", message.acknowledge_url),
        ("Action.OpenUrl", "Resolve", message.resolve_url),
    ]


def test_teams_errors(teams, message):
    broken = get_channel("teams").send(f"{teams.url}/broken", message)
    assert (broken.status, broken.retryable) == ("failed", True)
    deleted = get_channel("teams").send(f"{teams.url}/deleted", message)
    assert (deleted.status, deleted.retryable) == ("failed", False)
    assert "WorkflowNotFound" in deleted.error


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_hanging_chat_webhook_times_out(channel_settings, message, kind):
    channel_settings.NOTIFICATION_HTTP_TIMEOUT = 1.0
    with HangingServer() as hanging:
        started = time.monotonic()
        result = get_channel(kind).send(f"{hanging.url}/hook", message)
        elapsed = time.monotonic() - started
    assert (result.status, result.retryable) == ("failed", True)
    assert "timed out" in result.error
    assert elapsed < 3


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_chat_webhooks_refuse_private_targets_by_default(settings, message, kind):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    result = get_channel(kind).send("http://127.0.0.1:9/hook", message)
    assert (result.status, result.retryable) == ("failed", False)
    assert "non-public address" in result.error
