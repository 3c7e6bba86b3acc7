"""Ping check: ICMP echo where the host allows it, a TCP reachability probe where it doesn't.

Unprivileged ICMP needs ``net.ipv4.ping_group_range`` to include our group and raw
ICMP needs root or CAP_NET_RAW; containers often have neither. Rather than failing
every ping check there, we fall back to a TCP connect probe and say so in the
result, because "host reachable" is what the user asked about.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import icmplib

from monitoring.checks.result import CheckResult
from monitoring.checks.tcp import connect_error_reason
from monitoring.targets import vet_target

METHODS = ("auto", "icmp", "icmp-unprivileged", "icmp-privileged", "tcp")
DEFAULT_TCP_PORTS = (443, 80)


class ICMPUnavailable(Exception):
    """ICMP sockets are not permitted here; try the next method."""


async def _icmp(ip: str, count: int, timeout_s: float, privileged: bool) -> dict[str, Any]:
    interval = 0.2
    per_packet = max(0.2, min(2.0, (timeout_s - interval * (count - 1)) / max(count, 1)))
    try:
        host = await icmplib.async_ping(
            ip, count=count, interval=interval, timeout=per_packet, privileged=privileged
        )
    except icmplib.SocketPermissionError as exc:
        raise ICMPUnavailable(str(exc)) from exc
    except icmplib.SocketAddressError as exc:
        raise ICMPUnavailable(str(exc)) from exc
    return {
        "sent": host.packets_sent,
        "received": host.packets_received,
        "rtt_ms": [round(rtt, 3) for rtt in host.rtts],
    }


async def _tcp_probe(ip: str, ports: Sequence[int], count: int, timeout_s: float) -> dict[str, Any]:
    """A SYN answered by SYN-ACK *or* RST proves the host is up; only silence means down."""
    rtts: list[float] = []
    outcomes: list[str] = []
    per_try = max(0.2, timeout_s / max(count, 1))
    for _ in range(count):
        for port in ports:
            start = time.perf_counter()
            try:
                _reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(ip, port), per_try / len(ports)
                )
            except ConnectionRefusedError:
                outcomes.append(f"{port}:refused")
            except (OSError, TimeoutError) as exc:
                outcomes.append(f"{port}:{connect_error_reason(exc, ip, port, per_try)}")
                continue
            else:
                writer.close()
                outcomes.append(f"{port}:open")
            rtts.append((time.perf_counter() - start) * 1000)
            break
    return {
        "sent": count,
        "received": len(rtts),
        "rtt_ms": [round(rtt, 3) for rtt in rtts],
        "tcp_ports": list(ports),
        "tcp_outcomes": outcomes,
    }


async def check_ping(
    host: str,
    *,
    count: int = 3,
    timeout_s: float = 5.0,
    method: str = "auto",
    tcp_ports: Sequence[int] = DEFAULT_TCP_PORTS,
    degraded_after_ms: int | None = None,
    allow_private: bool | None = None,
) -> CheckResult:
    """Send ``count`` probes; all lost → down, some lost or slow → degraded.

    ``method`` "auto" tries unprivileged ICMP, then raw ICMP, then the TCP probe;
    ``details["method"]`` says which one produced the answer and
    ``details["fallback_reasons"]`` why earlier ones were skipped.
    """
    if method not in METHODS:
        raise ValueError(f"unknown ping method {method!r}")
    target = await vet_target(host, allow_private=allow_private, timeout_s=timeout_s)
    if target.failure:
        return target.failure
    ip = target.addresses[0]
    plan = {
        "auto": ["icmp-unprivileged", "icmp-privileged", "tcp"],
        "icmp": ["icmp-unprivileged", "icmp-privileged"],
    }.get(method, [method])
    fallbacks: list[str] = []
    stats: dict[str, Any] | None = None
    used = ""
    for candidate in plan:
        try:
            if candidate == "tcp":
                stats = await _tcp_probe(ip, tcp_ports, count, timeout_s)
            else:
                privileged = candidate == "icmp-privileged"
                stats = await _icmp(ip, count, timeout_s, privileged)
        except ICMPUnavailable as exc:
            fallbacks.append(f"{candidate}: {exc}")
            continue
        used = candidate
        break
    if stats is None:
        return CheckResult(
            "down",
            f"cannot ping {ip}: ICMP not permitted on this worker",
            details={"resolved_ip": ip, "fallback_reasons": fallbacks},
        )
    details = {"resolved_ip": ip, "method": used, **stats}
    if fallbacks:
        details["fallback_reasons"] = fallbacks
    sent, received = stats["sent"], stats["received"]
    loss = round(100 * (sent - received) / sent) if sent else 100
    details["packet_loss_pct"] = loss
    label = "TCP probes" if used == "tcp" else "ICMP echo requests"
    if received == 0:
        return CheckResult("down", f"no reply from {ip} to {sent} {label}", None, details)
    rtts = stats["rtt_ms"]
    avg = round(sum(rtts) / len(rtts)) if rtts else 0
    details.update(rtt_min_ms=min(rtts), rtt_max_ms=max(rtts), rtt_avg_ms=avg)
    via = "TCP probe" if used == "tcp" else "ICMP"
    if loss:
        return CheckResult(
            "degraded",
            f"{loss}% packet loss to {ip} ({received}/{sent} replies, {via})",
            avg,
            details,
        )
    if degraded_after_ms is not None and avg > degraded_after_ms:
        return CheckResult(
            "degraded",
            f"{ip} replies slowly: {avg} ms average (threshold {degraded_after_ms} ms, {via})",
            avg,
            details,
        )
    return CheckResult("up", f"{ip} replies in {avg} ms ({via})", avg, details)
