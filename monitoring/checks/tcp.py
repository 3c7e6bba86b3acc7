"""TCP port check: is something accepting connections, and how fast is the handshake."""

from __future__ import annotations

import asyncio
import contextlib
import time

from monitoring.checks.result import CheckResult, degraded, down, elapsed_ms, format_duration, up
from monitoring.targets import vet_target


def connect_error_reason(exc: BaseException, ip: str, port: int, timeout_s: float) -> str:
    """Readable text for a failed connect, shared by the TCP-based checks."""
    where = f"{ip}:{port}" if ":" not in ip else f"[{ip}]:{port}"
    if isinstance(exc, TimeoutError):
        return f"connection to {where} timed out after {format_duration(timeout_s)}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused to {where}"
    if isinstance(exc, ConnectionResetError):
        return f"connection reset by {where}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"cannot connect to {where}: {text}"


async def open_connection(ip: str, port: int, timeout_s: float) -> float:
    """Connect and close at once; return the connect time in seconds."""
    start = time.perf_counter()
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout_s)
    connect_s = time.perf_counter() - start
    writer.close()
    # Closing is best effort; the connect already succeeded.
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return connect_s


async def check_tcp(
    host: str,
    port: int,
    *,
    timeout_s: float = 10.0,
    degraded_after_ms: int | None = None,
    allow_private: bool | None = None,
) -> CheckResult:
    """Up if ``host:port`` accepts a TCP connection within ``timeout_s``.

    Tries each vetted address in turn (like a browser falling back from IPv6) and
    reports the first one that answered; down only if none did.
    """
    deadline = time.monotonic() + timeout_s
    target = await vet_target(host, port, allow_private=allow_private, timeout_s=timeout_s)
    if target.failure:
        return target.failure
    last_error = ""
    for ip in target.addresses:
        remaining = max(0.05, deadline - time.monotonic())
        start = time.perf_counter()
        try:
            connect_s = await open_connection(ip, port, remaining)
        except (OSError, TimeoutError) as exc:
            last_error = connect_error_reason(exc, ip, port, timeout_s)
            continue
        ms = elapsed_ms(start, start + connect_s)
        details = {"resolved_ip": ip, "port": port, "connect_ms": ms}
        if degraded_after_ms is not None and ms > degraded_after_ms:
            return degraded(
                f"port {port} open on {ip} but slow: connect took {ms} ms "
                f"(threshold {degraded_after_ms} ms)",
                ms,
                **details,
            )
        return up(f"port {port} open on {ip} (connect {ms} ms)", ms, **details)
    return down(last_error, None, resolved_ips=target.addresses, port=port)
