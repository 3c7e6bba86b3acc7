"""Apprise delivers for real: its json:// schema POSTs to a local server."""

import time

import pytest

from incidents.channels import get_channel

from .servers import HangingServer, RecordingServer, Reply


def by_path(request) -> Reply:
    if request.path.startswith("/gone"):
        return Reply(410, "gone")
    if request.path.startswith("/broken"):
        return Reply(500, "boom")
    return Reply(200, "ok")


@pytest.fixture
def server(channel_settings):
    with RecordingServer(by_path) as server:
        yield server


def test_json_delivery(server, message):
    target = f"json://127.0.0.1:{server.port}/notify"
    result = get_channel("apprise").send(target, message)

    assert result.status == "sent", result
    (request,) = server.requests
    assert request.method == "POST" and request.path == "/notify"
    payload = request.json()
    assert payload["title"] == "[Alert24] TRIGGERED: Checkout API down"
    assert payload["type"] == "failure"
    assert "service: Checkout, severity: critical" in payload["message"]
    assert f"Acknowledge: {message.acknowledge_url}" in payload["message"]
    assert f"Resolve: {message.resolve_url}" in payload["message"]


@pytest.mark.parametrize(
    "target",
    ["nosuchschema://whatever", "not a url at all", "tgram://", "discord://", ""],
)
def test_invalid_apprise_url_is_a_permanent_failure(channel_settings, message, target):
    result = get_channel("apprise").send(target, message)
    assert (result.status, result.retryable) == ("failed", False)
    assert "not a valid Apprise URL" in result.error


def test_http_errors(server, message):
    gone = get_channel("apprise").send(f"json://127.0.0.1:{server.port}/gone", message)
    assert (gone.status, gone.retryable) == ("failed", False)
    assert "410" in gone.error
    broken = get_channel("apprise").send(
        f"json://user:s3cret@127.0.0.1:{server.port}/broken", message
    )
    assert (broken.status, broken.retryable) == ("failed", True)
    assert "500" in broken.error
    assert "s3cret" not in broken.error  # credentials in the URL never reach the error


def test_hanging_server_times_out(channel_settings, message):
    channel_settings.NOTIFICATION_HTTP_TIMEOUT = 1.0
    with HangingServer() as hanging:
        started = time.monotonic()
        result = get_channel("apprise").send(f"json://127.0.0.1:{hanging.port}/", message)
        elapsed = time.monotonic() - started
    assert (result.status, result.retryable) == ("failed", True)
    assert elapsed < 5


def test_generic_http_schemas_refuse_private_targets_by_default(server, message, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for schema in ("json", "form", "xml"):
        result = get_channel("apprise").send(f"{schema}://127.0.0.1:{server.port}/", message)
        assert (result.status, result.retryable) == ("failed", False)
        assert "non-public address" in result.error
    assert server.requests == []
