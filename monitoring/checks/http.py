"""HTTP(S) check: status, content, latency and certificate of a URL, within a hard deadline.

Responses are streamed and read only up to ``MAX_BODY_BYTES``: a 50 MB download or a
server trickling one byte a second must cost the worker neither memory nor more than
``timeout_s`` of wall time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re
import ssl
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import httpcore
import httpx

from monitoring.checks.certs import (
    describe_certificate,
    expiry_status,
    tls_error_text,
    verification_error_text,
)
from monitoring.checks.result import CheckResult, elapsed_ms, format_duration
from monitoring.checks.ssl import extra_ca_file
from monitoring.targets import TargetRefused, private_targets_allowed, vet_target

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "Alert24-Monitor/1.0 (+uptime check)"
DEFAULT_STATUS_SPEC = "200-299"
JSON_OPERATORS = ("==", "!=", "<", ">", "<=", ">=", "contains")

# ---------------------------------------------------------------------------
# Accepted status codes: "200-299,301", "2xx,404"
# ---------------------------------------------------------------------------

_STATUS_PART = re.compile(r"^(?:([1-5])xx|(\d{3})(?:\s*-\s*(\d{3}))?)$", re.IGNORECASE)


def parse_status_spec(spec: str) -> tuple[tuple[int, int], ...]:
    """Parse a status spec into inclusive ranges; ValueError names the bad part."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("give at least one status code, e.g. 200-299")
    ranges: list[tuple[int, int]] = []
    for raw in spec.split(","):
        part = raw.strip()
        match = _STATUS_PART.match(part)
        if not match:
            raise ValueError(f"'{part}' is not a status code, range (200-299) or class (2xx)")
        if match.group(1):
            low = int(match.group(1)) * 100
            ranges.append((low, low + 99))
            continue
        low = int(match.group(2))
        high = int(match.group(3) or low)
        if not (100 <= low <= 599 and 100 <= high <= 599):
            raise ValueError(f"'{part}' is outside the HTTP status range 100-599")
        if low > high:
            raise ValueError(f"'{part}' is an empty range (start above end)")
        ranges.append((low, high))
    return tuple(ranges)


def status_accepted(code: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= code <= high for low, high in ranges)


# ---------------------------------------------------------------------------
# JSON assertions: "$.status", "data.items[0].name", "$['odd key']"
# ---------------------------------------------------------------------------

_PATH_TOKEN = re.compile(
    r"""\.(?P<name>[A-Za-z_$][\w$-]*)      # .name
      | \[(?P<index>-?\d+)\]                # [0]
      | \[(?P<q>["'])(?P<key>.*?)(?P=q)\]   # ['key'] or ["key"]
    """,
    re.VERBOSE,
)


def parse_json_path(path: str) -> list[str | int]:
    """Split a simple JSON path into keys and indexes; ValueError on anything else."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("JSON path is empty")
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif not text.startswith((".", "[")):
        text = "." + text
    tokens: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if not match:
            raise ValueError(f"cannot parse JSON path {path!r} at '{text[position:]}'")
        if match.group("name") is not None:
            tokens.append(match.group("name"))
        elif match.group("index") is not None:
            tokens.append(int(match.group("index")))
        else:
            tokens.append(match.group("key"))
        position = match.end()
    if not tokens:
        raise ValueError("JSON path selects the whole document; name a field, e.g. $.status")
    return tokens


_MISSING = object()


def resolve_json_path(document: Any, tokens: list[str | int]) -> Any:
    """Value at the path, or ``_MISSING``."""
    current = document
    for token in tokens:
        if isinstance(token, int) and isinstance(current, list):
            if not -len(current) <= token < len(current):
                return _MISSING
            current = current[token]
        elif isinstance(token, str) and isinstance(current, dict) and token in current:
            current = current[token]
        else:
            return _MISSING
    return current


def _coerce_expected(expected: Any) -> Any:
    """Form input arrives as text: "3" means 3, "true" means True, "ok" stays "ok"."""
    if isinstance(expected, str):
        try:
            return json.loads(expected)
        except ValueError:
            return expected
    return expected


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def json_compare(actual: Any, op: str, expected: Any) -> bool:
    """Compare leniently across the text/number boundary; raise ValueError when meaningless."""
    coerced = _coerce_expected(expected)
    if op in ("==", "!="):
        equal = actual == coerced or _as_text(actual) == _as_text(expected)
        return equal if op == "==" else not equal
    if op == "contains":
        if isinstance(actual, list):
            return any(json_compare(item, "==", expected) for item in actual)
        if isinstance(actual, dict):
            return _as_text(expected) in actual
        return _as_text(expected) in _as_text(actual)
    left, right = _number(actual), _number(coerced)
    if left is None or right is None:
        raise ValueError(f"cannot compare {_as_text(actual)!r} {op} {_as_text(expected)!r}")
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


# ---------------------------------------------------------------------------
# Client: a guarded connection backend, one client per event loop and TLS policy
# ---------------------------------------------------------------------------


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and vets each host at connect time, then connects to the vetted IP.

    Doing it here, rather than once before the request, covers every redirect hop
    and leaves no window for DNS rebinding; the name is still used for SNI,
    certificate verification and the Host header.
    """

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        target = await vet_target(
            host, port, allow_private=self._allow_private, timeout_s=timeout or 10.0
        )
        if target.failure:
            raise TargetRefused(target.failure)
        last_error: Exception | None = None
        for ip in target.addresses:
            try:
                return await self._inner.connect_tcp(
                    ip,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                exc.add_note(f"{ip}:{port}")
                last_error = exc
        assert last_error is not None  # vet_target never returns an empty list
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not monitorable targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, httpx.AsyncClient]]
_clients = weakref.WeakKeyDictionary()


def _ssl_context(verify: bool, cafile: str | None, extra_cafile: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if cafile:
        return ssl.create_default_context(cafile=cafile)
    context = httpx.create_ssl_context(verify=True)
    if extra_cafile:
        context.load_verify_locations(cafile=extra_cafile)
    return context


def make_client(
    *,
    verify: bool = True,
    cafile: str | None = None,
    allow_private: bool = False,
    extra_cafile: str | None = None,
) -> httpx.AsyncClient:
    """A client whose every connection goes through the target guard.

    Keep-alive is off so each check measures (and vets) a fresh connection, and
    ``trust_env`` is off so no proxy from the environment sidesteps the guard.
    ``cafile`` replaces the trust store; ``extra_cafile`` is trusted besides the default one.
    """
    transport = httpx.AsyncHTTPTransport(retries=0, trust_env=False)
    # httpx offers no public hook for httpcore's network backend; replace the pool.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(verify, cafile, extra_cafile),
        max_connections=100,
        max_keepalive_connections=0,
        http1=True,
        http2=False,
        retries=0,
        network_backend=GuardedBackend(allow_private),
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


def shared_client(
    *, verify: bool = True, cafile: str | None = None, allow_private: bool = False
) -> httpx.AsyncClient:
    """One client per (event loop, TLS policy, target policy); clients are loop-bound.

    Unless ``cafile`` replaces the trust store, the deployment's ``MONITORING_EXTRA_CA_FILE``
    is trusted too (see ``monitoring.checks.ssl.extra_ca_file``).
    """
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    extra = None if cafile or not verify else extra_ca_file()
    key = (verify, cafile, extra, allow_private)
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = per_loop[key] = make_client(
            verify=verify, cafile=cafile, allow_private=allow_private, extra_cafile=extra
        )
    return client


async def close_shared_clients() -> None:
    """Close this loop's clients; call before the loop ends (worker shutdown, tests)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.aclose()


# ---------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------


def _host_of(url: httpx.URL) -> str:
    return url.host or "?"


def _describe_error(exc: BaseException, url: httpx.URL, timeout_s: float) -> str:
    host = _host_of(url)
    where = f"{host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    verify = verification_error_text(exc)
    if verify:
        return f"TLS certificate verification failed for {host}: {verify}"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection to {where} timed out after {format_duration(timeout_s)}"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no response from {host} within {format_duration(timeout_s)}"
    if isinstance(exc, httpx.TimeoutException):
        return f"request to {host} timed out after {format_duration(timeout_s)}"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
                notes = getattr(exc.__cause__ or exc, "__notes__", None) or [where]
                return f"connection refused to {notes[-1]}"
            cause = cause.__cause__ or cause.__context__
        tls = tls_error_text(exc)
        if tls:
            return f"TLS handshake with {host} failed: {tls}"
        return f"cannot connect to {where}: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return f"connection to {host} dropped mid-response: {exc or type(exc).__name__}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"unsupported URL: {exc}"
    return f"request to {host} failed: {exc or type(exc).__name__}"


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    """At most ``cap`` decoded bytes, and whether the body had more; never reads the rest."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks)[:cap], True
    return b"".join(chunks), False


def _certificate(response: httpx.Response, hostname: str) -> dict[str, Any] | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return describe_certificate(der, hostname) if der else None


def _server_ip(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    address = stream.get_extra_info("server_addr") if stream is not None else None
    return str(address[0]) if address else None


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


async def check_http(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: str | bytes | None = None,
    accepted_status: str = DEFAULT_STATUS_SPEC,
    keyword: str | None = None,
    keyword_absent: bool = False,
    keyword_case_sensitive: bool = True,
    json_path: str | None = None,
    json_op: str = "==",
    json_expected: Any = None,
    degraded_after_ms: int | None = None,
    timeout_s: float = 10.0,
    follow_redirects: bool = True,
    max_redirects: int = 5,
    basic_auth_user: str | None = None,
    basic_auth_password: str = "",
    verify_tls: bool = True,
    cafile: str | None = None,
    cert_expiry_warn_days: int = 14,
    max_body_bytes: int = MAX_BODY_BYTES,
    allow_private: bool | None = None,
    client: httpx.AsyncClient | None = None,
) -> CheckResult:
    """Request ``url`` and judge the answer.

    Down: connection failure, unaccepted status, keyword/JSON assertion failed,
    too many redirects, overall ``timeout_s`` exceeded. Degraded: slower than
    ``degraded_after_ms`` or certificate expiring within ``cert_expiry_warn_days``.
    An injected ``client`` is used as is (its own target policy applies).
    """
    ranges = parse_status_spec(accepted_status)
    path_tokens = parse_json_path(json_path) if json_path else None
    if client is None:
        client = shared_client(
            verify=verify_tls, cafile=cafile, allow_private=private_targets_allowed(allow_private)
        )
    request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if basic_auth_user is not None:
        request_headers["Authorization"] = _basic_auth(basic_auth_user, basic_auth_password)
    content = body.encode() if isinstance(body, str) else body

    start = time.perf_counter()
    request = client.build_request(
        method.upper(), url, headers=request_headers, content=content, timeout=timeout_s
    )
    redirects: list[dict[str, Any]] = []
    details: dict[str, Any] = {"url": url, "method": method.upper()}
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    if follow_redirects and response.next_request is not None:
                        location = response.headers.get("location", "")
                        redirects.append({"status": response.status_code, "location": location})
                        if len(redirects) > max_redirects:
                            ms = elapsed_ms(start, time.perf_counter())
                            return CheckResult(
                                "down",
                                f"too many redirects (more than {max_redirects}) starting at "
                                f"{url}; last Location: {location}",
                                ms,
                                {**details, "redirects": redirects},
                            )
                        request = response.next_request
                        continue
                    details["status_code"] = response.status_code
                    details["final_url"] = str(response.url)
                    details["resolved_ip"] = _server_ip(response)
                    if response.url.scheme == "https":
                        details["certificate"] = _certificate(response, _host_of(response.url))
                    payload, truncated = await _read_capped(response, max_body_bytes)
                finally:
                    await response.aclose()
                break
    except TargetRefused as exc:
        return exc.result
    except TimeoutError:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult(
            "down",
            f"no complete response from {_host_of(request.url)} within "
            f"{format_duration(timeout_s)} (timed out)",
            ms,
            {**details, "timeout_s": timeout_s, "redirects": redirects},
        )
    except httpx.HTTPError as exc:
        ms = elapsed_ms(start, time.perf_counter())
        reason = _describe_error(exc, request.url, timeout_s)
        return CheckResult("down", reason, ms, {**details, "error_detail": str(exc)})

    ms = elapsed_ms(start, time.perf_counter())
    details.update(redirects=redirects, body_bytes_read=len(payload), body_truncated=truncated)
    text = payload.decode(response.encoding or "utf-8", errors="replace")
    return _judge(
        response.status_code,
        response.url,
        text,
        truncated,
        ms,
        details,
        ranges=ranges,
        accepted_status=accepted_status,
        keyword=keyword,
        keyword_absent=keyword_absent,
        keyword_case_sensitive=keyword_case_sensitive,
        path_tokens=path_tokens,
        json_path=json_path,
        json_op=json_op,
        json_expected=json_expected,
        degraded_after_ms=degraded_after_ms,
        cert_expiry_warn_days=cert_expiry_warn_days,
        max_body_bytes=max_body_bytes,
    )


def _judge(
    code: int,
    url: httpx.URL,
    text: str,
    truncated: bool,
    ms: int,
    details: dict[str, Any],
    *,
    ranges: tuple[tuple[int, int], ...],
    accepted_status: str,
    keyword: str | None,
    keyword_absent: bool,
    keyword_case_sensitive: bool,
    path_tokens: list[str | int] | None,
    json_path: str | None,
    json_op: str,
    json_expected: Any,
    degraded_after_ms: int | None,
    cert_expiry_warn_days: int,
    max_body_bytes: int,
) -> CheckResult:
    host = _host_of(url)
    took = format_duration(ms / 1000)
    if not status_accepted(code, ranges):
        return CheckResult(
            "down",
            f"HTTP {code} from {host} after {took} (expected {accepted_status})",
            ms,
            details,
        )
    limit = f"first {format_size(max_body_bytes)}" if truncated else "response"
    if keyword:
        fold = (lambda value: value) if keyword_case_sensitive else str.casefold
        found = fold(keyword) in fold(text)
        details["keyword_found"] = found
        if keyword_absent and found:
            return CheckResult("down", f"keyword '{keyword}' found but must be absent", ms, details)
        if not keyword_absent and not found:
            return CheckResult("down", f"keyword '{keyword}' not found in {limit}", ms, details)
    if path_tokens is not None:
        if truncated:
            return CheckResult(
                "down",
                f"response larger than {format_size(max_body_bytes)}; JSON assertion not evaluated",
                ms,
                details,
            )
        try:
            document = json.loads(text)
        except ValueError as exc:
            return CheckResult("down", f"response is not valid JSON: {exc}", ms, details)
        actual = resolve_json_path(document, path_tokens)
        if actual is _MISSING:
            return CheckResult("down", f"JSON path {json_path} not found in response", ms, details)
        details["json_value"] = actual if _jsonable_scalar(actual) else _as_text(actual)[:200]
        try:
            passed = json_compare(actual, json_op, json_expected)
        except ValueError as exc:
            return CheckResult("down", f"JSON assertion failed: {exc}", ms, details)
        if not passed:
            return CheckResult(
                "down",
                f"JSON assertion failed: {json_path} is {_as_text(actual)[:100]}, "
                f"expected {json_op} {_as_text(json_expected)[:100]}",
                ms,
                details,
            )
    certificate = details.get("certificate")
    if certificate:
        cert_status, cert_reason = expiry_status(certificate, cert_expiry_warn_days)
        if cert_status != "up":
            return CheckResult(cert_status, f"{cert_reason} ({host})", ms, details)
    if degraded_after_ms is not None and ms > degraded_after_ms:
        return CheckResult(
            "degraded",
            f"slow response: HTTP {code} from {host} after {took} "
            f"(threshold {format_duration(degraded_after_ms / 1000)})",
            ms,
            details,
        )
    return CheckResult("up", f"HTTP {code} from {host} in {took}", ms, details)


def _jsonable_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def format_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"
