"""SSL/TLS certificate check: expiry, hostname and chain trust of what a port serves."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any

from monitoring.checks.certs import describe_certificate, expiry_status, verification_error_text
from monitoring.checks.result import CheckResult, elapsed_ms
from monitoring.checks.tcp import connect_error_reason
from monitoring.targets import vet_target


class HandshakeTimeout(Exception):
    """TCP connected but the TLS handshake never completed (not TLS, or stalled)."""


def extra_ca_file() -> str | None:
    """The deployment's own CA bundle (``MONITORING_EXTRA_CA_FILE``), trusted besides the system's.

    For targets signed by a private CA (an internal PKI, the demo's local CA): without it
    their checks would all report an untrusted chain. Certificates chaining to neither the
    system store nor this bundle are still reported as untrusted.
    """
    from django.conf import settings

    return getattr(settings, "MONITORING_EXTRA_CA_FILE", "") or None


def add_extra_ca(context: ssl.SSLContext, cafile: str | None) -> ssl.SSLContext:
    """Trust the extra bundle too, unless the caller chose its own trust store (``cafile``)."""
    extra = None if cafile else extra_ca_file()
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def _context(verify: bool, cafile: str | None) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return add_extra_ca(ssl.create_default_context(cafile=cafile), cafile)


async def _handshake(
    ip: str, port: int, server_name: str, context: ssl.SSLContext, timeout_s: float
) -> tuple[bytes, dict[str, Any], float]:
    """TLS handshake on the vetted IP (the name only goes into SNI and verification)."""
    start = time.perf_counter()
    _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout_s)
    remaining = max(0.05, timeout_s - (time.perf_counter() - start))
    try:
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=server_name, ssl_handshake_timeout=remaining),
            remaining,
        )
    except TimeoutError as exc:
        writer.transport.abort()
        raise HandshakeTimeout from exc
    except BaseException:
        writer.transport.abort()
        raise
    seconds = time.perf_counter() - start
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) or b""
        cipher = ssl_object.cipher()
        session = {"tls_version": ssl_object.version(), "cipher": cipher[0] if cipher else None}
    finally:
        writer.close()
        # The certificate is already in hand; closing is best effort.
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return der, session, seconds


async def check_ssl(
    host: str,
    port: int = 443,
    *,
    server_name: str | None = None,
    warn_days: int = 14,
    critical_days: int = 3,
    timeout_s: float = 10.0,
    cafile: str | None = None,
    allow_private: bool | None = None,
) -> CheckResult:
    """Judge the certificate served on ``host:port``.

    Fewer than ``warn_days`` left → degraded, fewer than ``critical_days`` or
    expired → down; an untrusted chain or a certificate for another name → down
    with OpenSSL's verification message. ``server_name`` overrides the name sent
    in SNI and checked against the certificate (defaults to ``host``). ``cafile``
    replaces the trust store; otherwise the system's plus ``MONITORING_EXTRA_CA_FILE``.
    """
    deadline = time.monotonic() + timeout_s
    name = server_name or host
    target = await vet_target(host, port, allow_private=allow_private, timeout_s=timeout_s)
    if target.failure:
        return target.failure
    # Built outside the loop: a missing CA bundle is a configuration error, not a refused
    # connection (both are OSError).
    trusted = _context(True, cafile)
    last_error = ""
    for ip in target.addresses:
        remaining = max(0.05, deadline - time.monotonic())
        try:
            der, session, seconds = await _handshake(ip, port, name, trusted, remaining)
            verify_error = None
        except ssl.SSLCertVerificationError as exc:
            verify_error = verification_error_text(exc) or str(exc)
            remaining = max(0.05, deadline - time.monotonic())
            try:
                der, session, seconds = await _handshake(
                    ip, port, name, _context(False, None), remaining
                )
            except (OSError, TimeoutError) as retry_exc:
                retry_error = connect_error_reason(retry_exc, ip, port, timeout_s)
                return CheckResult(
                    "down",
                    f"untrusted certificate on {ip}:{port}: {verify_error} "
                    f"(details unavailable: {retry_error})",
                    details={"resolved_ip": ip, "port": port, "verify_error": verify_error},
                )
        except HandshakeTimeout:
            return CheckResult(
                "down",
                f"TLS handshake with {ip}:{port} timed out (is this port serving TLS?)",
                details={"resolved_ip": ip, "port": port},
            )
        except ssl.SSLError as exc:
            reason = (exc.reason or str(exc)).replace("_", " ").lower()
            return CheckResult(
                "down",
                f"TLS handshake with {ip}:{port} failed: {reason}",
                details={"resolved_ip": ip, "port": port, "tls_error": reason},
            )
        except (OSError, TimeoutError) as exc:
            last_error = connect_error_reason(exc, ip, port, timeout_s)
            continue
        return _judge(der, name, ip, port, session, seconds, verify_error, warn_days, critical_days)
    return CheckResult("down", last_error, details={"resolved_ips": target.addresses, "port": port})


def _judge(
    der: bytes,
    name: str,
    ip: str,
    port: int,
    session: dict[str, Any],
    seconds: float,
    verify_error: str | None,
    warn_days: int,
    critical_days: int,
) -> CheckResult:
    ms = elapsed_ms(0, seconds)
    if not der:
        return CheckResult("down", f"{ip}:{port} presented no certificate", ms)
    cert = describe_certificate(der, name)
    details: dict[str, Any] = {
        "resolved_ip": ip,
        "port": port,
        **session,
        "certificate": cert,
        "days_left": cert["days_left"],
        "trusted": verify_error is None,
    }
    status, reason = expiry_status(cert, warn_days, critical_days)
    if verify_error is not None:
        details["verify_error"] = verify_error
        if cert["expired"]:
            return CheckResult("down", reason, ms, details)
        if not cert["hostname_matches"]:
            covers = ", ".join(cert["san_dns"] + cert["san_ip"]) or cert["subject"]
            return CheckResult(
                "down", f"certificate is not valid for {name} (it covers {covers})", ms, details
            )
        return CheckResult("down", f"untrusted certificate: {verify_error}", ms, details)
    return CheckResult(status, reason, ms, details)
