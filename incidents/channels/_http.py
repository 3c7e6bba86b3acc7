"""Outgoing HTTP for webhook-style channels: address checks, no redirects, hard timeouts.

Slack, Teams and generic webhooks all POST to a URL a user typed in, so each of them is a
server-side request forgery risk: ``http://169.254.169.254/`` or ``http://localhost:6379/``
must not be reachable through a notification. The host is resolved once, every address is
checked, and the connection goes to the checked address (Host header and TLS SNI keep the
original name), so a DNS answer that changes between check and connect (rebinding) can't
sneak in a private address. ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` turns the check off for
self-hosted set-ups (and tests on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
from django.conf import settings

from incidents.channels.base import DeliveryResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Alert24-Notifications/1.0"


class BlockedTarget(Exception):
    """The URL is not allowed as a notification target (scheme or address)."""


def http_timeout() -> float:
    """Seconds allowed per network phase (connect, each read); the worker never waits longer."""
    return float(settings.NOTIFICATION_HTTP_TIMEOUT)


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses only.

    ``is_global`` excludes private, loopback, link-local (cloud metadata), CGNAT, reserved and
    documentation ranges; IPv4-mapped IPv6 addresses are judged by their IPv4 address.
    """
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_target(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` and return its addresses, refusing non-public ones unless allowed.

    Raises :class:`BlockedTarget` for a forbidden address and ``socket.gaierror`` when the
    name does not resolve.
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    else:
        addresses = [literal]
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for ip in addresses:
            if not is_public_address(ip):
                raise BlockedTarget(
                    f"target {host} resolves to non-public address {ip}; "
                    "set WEBHOOK_ALLOW_PRIVATE_TARGETS to allow it"
                )
    return addresses


def check_url(url: str) -> None:
    """Raise :class:`BlockedTarget` unless ``url`` is http(s) to an allowed address."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise BlockedTarget("target must be an http(s) URL")
    resolve_target(parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80))


def post(
    url: str,
    *,
    content: bytes,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> tuple[httpx.Response | None, DeliveryResult | None]:
    """POST ``content`` to ``url`` safely; return ``(response, None)`` or ``(None, failure)``.

    The failure covers everything before an HTTP answer: bad/blocked URL, DNS, connection
    errors and timeouts. Mapping the HTTP status is left to :func:`result_for_response` so a
    channel can add provider-specific reading of the body.
    """
    timeout = http_timeout() if timeout is None else timeout
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        return None, DeliveryResult.failed(f"invalid URL: {exc}", retryable=False)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None, DeliveryResult.failed("target must be an http(s) URL", retryable=False)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = resolve_target(parsed.host, port)
    except BlockedTarget as exc:
        return None, DeliveryResult.failed(str(exc), retryable=False)
    except (socket.gaierror, UnicodeError) as exc:
        permanent = getattr(exc, "errno", None) == socket.EAI_NONAME
        return None, DeliveryResult.failed(
            f"cannot resolve {parsed.host}: {exc}", retryable=not permanent
        )

    # Connect to the address just checked; keep the name for Host and certificate checks.
    pinned = parsed.copy_with(host=str(addresses[0]))
    all_headers = {"User-Agent": USER_AGENT, "Host": parsed.netloc.decode("ascii")}
    all_headers.update(headers or {})
    extensions: dict[str, Any] = {}
    if parsed.scheme == "https":
        extensions["sni_hostname"] = parsed.host
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            request = client.build_request(
                "POST", pinned, content=content, headers=all_headers, extensions=extensions
            )
            response = client.send(request)
    except httpx.TimeoutException as exc:
        return None, DeliveryResult.failed(
            f"timed out after {timeout:g}s ({type(exc).__name__})", retryable=True
        )
    except httpx.HTTPError as exc:
        return None, DeliveryResult.failed(
            f"connection error: {type(exc).__name__}: {exc}", retryable=True
        )
    return response, None


def result_for_response(response: httpx.Response, provider_id: str = "") -> DeliveryResult:
    """Map an HTTP answer: 2xx sent; 408/425/429/5xx retryable; other 3xx/4xx permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return DeliveryResult.sent(provider_id)
    snippet = " ".join(response.text[:200].split())
    if 300 <= code < 400:
        return DeliveryResult.failed(
            f"HTTP {code}: redirects are not followed (to {response.headers.get('location')})",
            retryable=False,
        )
    retryable = code >= 500 or code in (408, 425, 429)
    return DeliveryResult.failed(f"HTTP {code}: {snippet}".rstrip(": "), retryable=retryable)


def post_json_body(
    url: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[httpx.Response | None, DeliveryResult]:
    """POST a JSON body and map the outcome; also return the response for provider details."""
    response, failure = post(
        url, content=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    if failure is not None:
        return None, failure
    assert response is not None  # post() returns one or the other
    return response, result_for_response(response)
