"""Certificate facts shared by the SSL and HTTPS checks.

We parse the DER bytes ourselves (with ``cryptography``) instead of relying on
``getpeercert()``: the standard library only decodes verified certificates, and
the expired / self-signed / wrong-host cases are precisely the ones users need
described.
"""

from __future__ import annotations

import ipaddress
import math
import ssl
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from monitoring.checks.result import Status


def _names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return [], []
    dns_names = [name.lower() for name in san.get_values_for_type(x509.DNSName)]
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return dns_names, ips


def hostname_matches(hostname: str, dns_names: list[str], ips: list[str]) -> bool:
    """RFC 6125 matching: exact name, or a wildcard covering exactly the leftmost label."""
    host = hostname.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(ipaddress.ip_address(ip) == address for ip in ips)
    for pattern in dns_names:
        pattern = pattern.rstrip(".")
        if pattern == host:
            return True
        if pattern.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if label and rest == pattern[2:] and rest.count(".") >= 1:
                return True
    return False


def describe_certificate(
    der: bytes, hostname: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """JSON-serialisable summary of a leaf certificate."""
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.now(UTC)
    not_after = cert.not_valid_after_utc
    dns_names, ips = _names(cert)
    seconds_left = (not_after - now).total_seconds()
    info: dict[str, Any] = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial_number": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": math.floor(seconds_left / 86400),
        "seconds_left": math.floor(seconds_left),
        "expired": seconds_left <= 0,
        "self_signed": cert.subject == cert.issuer,
        "san_dns": dns_names,
        "san_ip": ips,
    }
    if hostname is not None:
        info["hostname"] = hostname
        info["hostname_matches"] = hostname_matches(hostname, dns_names, ips)
    return info


def expiry_status(
    info: dict[str, Any], warn_days: int, critical_days: int | None = None
) -> tuple[Status, str]:
    """Status and reason from the days left: expired/critical → down, warn → degraded."""
    days = info["days_left"]
    if info["expired"]:
        ago = -info["seconds_left"] // 86400
        when = "today" if ago < 1 else "1 day ago" if ago == 1 else f"{ago} days ago"
        return "down", f"certificate expired {when} ({info['not_after'][:10]})"
    text = f"certificate expires in {_days(days)}"
    if critical_days is not None and days < critical_days:
        return "down", f"{text} (critical below {_days(critical_days)})"
    if days < warn_days:
        return "degraded", f"{text} (warning below {_days(warn_days)})"
    return "up", f"certificate valid for {_days(days)}"


def _days(days: int) -> str:
    return "1 day" if days == 1 else "less than a day" if days == 0 else f"{days} days"


def verification_error_text(exc: BaseException) -> str | None:
    """OpenSSL's own wording ("certificate has expired") from anywhere in an exception chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or current.reason or str(current)
        current = current.__cause__ or current.__context__
    return None


def tls_error_text(exc: BaseException) -> str | None:
    """Short text for a non-verification TLS failure (protocol mismatch, alert, ...)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return (current.reason or str(current)).replace("_", " ").lower()
        current = current.__cause__ or current.__context__
    return None
