import socket
import time

import pytest

from incidents.channels import get_channel
from incidents.channels.webhook import sign, verify

from .servers import HangingServer, RecordingServer, Reply

SECRET = "whsec-endpoint-secret"


def receiver(request) -> Reply:
    """A receiver doing what our docs tell receivers to do: verify, then accept."""
    ok = verify(
        request.body,
        SECRET,
        request.headers.get("x-alert24-timestamp"),
        request.headers.get("x-alert24-signature"),
    )
    return Reply(200, "accepted", {"X-Request-Id": "rcv-42"}) if ok else Reply(401, "bad sig")


@pytest.fixture
def endpoint(channel_settings):
    with RecordingServer(receiver) as server:
        yield server


@pytest.fixture
def loopback_only(monkeypatch):
    """Fail loudly if anything tries to connect beyond 127.0.0.0/8 (nothing should)."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        assert str(address[0]).startswith("127."), f"connection attempted to {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


def test_signed_delivery_verified_by_receiver(endpoint, message, loopback_only):
    result = get_channel("webhook", secret=SECRET).send(f"{endpoint.url}/alert24", message)

    assert result.status == "sent", result
    assert result.provider_id == "rcv-42"
    (request,) = endpoint.requests
    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-alert24-event"] == "incident.triggered"
    assert headers["idempotency-key"] == message.idempotency_key
    assert abs(int(headers["x-alert24-timestamp"]) - time.time()) < 5
    assert headers["x-alert24-signature"] == sign(
        request.body, SECRET, headers["x-alert24-timestamp"]
    )
    body = request.json()
    assert body["event"] == "incident.triggered"
    assert body["idempotency_key"] == message.idempotency_key
    assert body["incident"]["id"] == message.incident_id
    assert body["incident"]["title"] == "Checkout API down"
    assert body["incident"]["url"] == message.incident_url


def test_wrong_secret_is_refused_by_receiver(endpoint, message, loopback_only):
    result = get_channel("webhook", secret="not-the-secret").send(endpoint.url, message)
    assert (result.status, result.retryable) == ("failed", False)
    assert "401" in result.error


def test_verify_rejects_tampering_and_old_timestamps():
    body = b'{"event":"incident.triggered"}'
    now = int(time.time())
    signature = sign(body, SECRET, now)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(body, SECRET, now, signature)
    assert not verify(body + b" ", SECRET, now, signature)
    assert not verify(body, "other", now, signature)
    assert not verify(body, SECRET, now + 1, signature)
    assert not verify(body, SECRET, now, "sha256=" + "0" * 64)
    assert not verify(body, SECRET, "not-a-number", signature)
    old = now - 3600
    assert not verify(body, SECRET, old, sign(body, SECRET, old))
    assert verify(body, SECRET, old, sign(body, SECRET, old), tolerance=0)


def test_host_name_is_kept_while_connecting_to_the_checked_address(
    endpoint, message, loopback_only
):
    result = get_channel("webhook", secret=SECRET).send(
        f"http://localhost:{endpoint.port}/hook", message
    )
    assert result.status == "sent", result
    assert endpoint.requests[0].headers["host"] == f"localhost:{endpoint.port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://[::1]:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://2130706433:{port}/hook",  # 127.0.0.1 as one decimal number
        "http://0.0.0.0:{port}/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://10.0.0.1/hook",
        "http://192.168.1.1/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://[fd00:ec2::254]/hook",
    ],
)
def test_private_targets_blocked_by_default(endpoint, message, settings, loopback_only, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    result = get_channel("webhook", secret=SECRET).send(url.format(port=endpoint.port), message)
    assert (result.status, result.retryable) == ("failed", False)
    assert "non-public address" in result.error
    assert endpoint.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "not a url", ""])
def test_non_http_targets_fail(channel_settings, message, loopback_only, url):
    result = get_channel("webhook").send(url, message)
    assert (result.status, result.retryable) == ("failed", False)


def test_server_errors_are_retryable_and_unsigned_without_secret(channel_settings, message):
    with RecordingServer(lambda request: Reply(503, "maintenance")) as server:
        result = get_channel("webhook").send(server.url, message)
    assert (result.status, result.retryable) == ("failed", True)
    assert "503" in result.error
    assert "x-alert24-signature" not in server.requests[0].headers


def test_hanging_receiver_times_out(channel_settings, message, loopback_only):
    channel_settings.NOTIFICATION_HTTP_TIMEOUT = 1.0
    with HangingServer() as hanging:
        started = time.monotonic()
        result = get_channel("webhook", secret=SECRET).send(hanging.url, message)
        elapsed = time.monotonic() - started
    assert (result.status, result.retryable) == ("failed", True)
    assert elapsed < 3


def test_connection_refused_is_retryable(channel_settings, message, loopback_only):
    from .servers import free_port

    result = get_channel("webhook").send(f"http://127.0.0.1:{free_port()}/", message)
    assert (result.status, result.retryable) == ("failed", True)
