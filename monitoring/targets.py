"""Target safety: keep user-configured checks from probing our own network.

A monitoring service connects wherever its users tell it to, which makes it an SSRF
tool unless every destination is vetted. We vet the *resolved addresses*, not the
name (a public name can point at 10.0.0.5 or at the cloud metadata service), and
callers connect to the vetted address itself, so a second DNS answer cannot swap
in a private one between the check and the connection (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

from monitoring.checks.result import CheckResult, down

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_net = ipaddress.ip_network

# Most specific first: 169.254.169.254 is reported as metadata, not just link-local.
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
BLOCKED_NETWORKS: tuple[tuple[str, tuple[Network, ...]], ...] = (
    (
        "a cloud metadata address",
        (
            _net("169.254.169.254/32"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
            _net("169.254.170.2/32"),  # AWS ECS task metadata
            _net("100.100.100.200/32"),  # Alibaba Cloud
            _net("fd00:ec2::254/128"),  # AWS IPv6
        ),
    ),
    ("unspecified", (_net("0.0.0.0/32"), _net("::/128"))),
    ("loopback", (_net("127.0.0.0/8"), _net("::1/128"))),
    (
        "private",
        (_net("10.0.0.0/8"), _net("172.16.0.0/12"), _net("192.168.0.0/16"), _net("fc00::/7")),
    ),
    ("link-local", (_net("169.254.0.0/16"), _net("fe80::/10"))),
    ("carrier-grade NAT (CGNAT)", (_net("100.64.0.0/10"),)),
    ("multicast", (_net("224.0.0.0/4"), _net("ff00::/8"))),
    (
        "reserved",
        (
            _net("0.0.0.0/8"),  # "this network"
            _net("192.0.0.0/24"),  # IETF protocol assignments
            _net("198.18.0.0/15"),  # benchmarking
            _net("240.0.0.0/4"),  # reserved, includes 255.255.255.255
            _net("fec0::/10"),  # deprecated site-local
        ),
    ),
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """IPv4 address smuggled inside an IPv6 one (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _net("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_category(ip: str | IPAddress) -> str | None:
    """Why this address must not be monitored ("private", "loopback", ...) or None if public."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%", 1)[0])
        inner = _embedded_ipv4(address)
        if inner is not None:
            return blocked_category(inner)
    for category, networks in BLOCKED_NETWORKS:
        if any(address.version == net.version and address in net for net in networks):
            return category
    return None


def private_targets_allowed(allow_private: bool | None = None) -> bool:
    """Explicit argument wins; otherwise the MONITORING_ALLOW_PRIVATE_TARGETS setting (off)."""
    if allow_private is not None:
        return allow_private
    from django.conf import settings

    return bool(getattr(settings, "MONITORING_ALLOW_PRIVATE_TARGETS", False))


def refusal(ip: str, category: str, host: str | None = None) -> CheckResult:
    via = f" ({host} resolves to it)" if host and host != ip else ""
    return down(
        f"target address {ip} is {category}; not allowed{via}",
        error="target_refused",
        resolved_ip=ip,
        blocked_category=category,
    )


@dataclass
class VettedTarget:
    """Addresses that are safe to connect to, or the down result explaining why none are."""

    host: str
    addresses: list[str] = field(default_factory=list)
    failure: CheckResult | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class TargetRefused(Exception):
    """Raised inside connection code (where returning is not possible) to carry the result."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.reason)
        self.result = result


def _literal_ip(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def resolve(host: str, port: int | None = None, timeout_s: float = 5.0) -> list[str]:
    """All addresses a host name resolves to, IPv4 first, without duplicates."""
    literal = _literal_ip(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout_s
    )
    addresses: list[str] = []
    for family, *_rest, sockaddr in sorted(infos, key=lambda info: info[0] != socket.AF_INET):
        address = str(sockaddr[0]).split("%", 1)[0] if family == socket.AF_INET6 else sockaddr[0]
        if address not in addresses:
            addresses.append(address)
    return addresses


async def vet_target(
    host: str,
    port: int | None = None,
    *,
    allow_private: bool | None = None,
    timeout_s: float = 5.0,
) -> VettedTarget:
    """Resolve ``host`` and check every address; never raises.

    One blocked address refuses the whole target: a name resolving to both a public
    and a private address is exactly the shape of a rebinding attempt.
    """
    try:
        addresses = await resolve(host, port, timeout_s)
    except TimeoutError:
        return VettedTarget(
            host, failure=down(f"DNS lookup for {host} timed out after {timeout_s:g} s")
        )
    except (OSError, UnicodeError) as exc:
        return VettedTarget(
            host,
            failure=down(f"could not resolve host {host}: {_gai_text(exc)}", error_detail=str(exc)),
        )
    if not addresses:
        return VettedTarget(host, failure=down(f"could not resolve host {host}: no addresses"))
    if not private_targets_allowed(allow_private):
        for address in addresses:
            category = blocked_category(address)
            if category is not None:
                return VettedTarget(host, addresses, refusal(address, category, host))
    return VettedTarget(host, addresses)


def _gai_text(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror) and exc.errno in _NO_SUCH_HOST:
        return "no such host"
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)


_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
