"""The demo's own TLS and DNS endpoints, so its SSL and DNS monitors are live offline.

``make run`` (``manage.py serve``) aims a monitor of each type at the running app. Two of
them need something the development server lacks:

* an **HTTPS listener**: gunicorn serving the same WSGI app with a certificate issued by a
  local demo CA. The CA and the certificate are made once with ``cryptography`` under the
  data folder (``.data/demo-tls/``); the certificate is re-issued when it nears expiry, like
  an ACME client would. The CA is name-constrained to the demo's own names, so trusting it
  (``MONITORING_EXTRA_CA_FILE``, which ``serve`` sets for its children) vouches for nothing
  else;
* an **authoritative DNS server** for the ``alert24.test`` zone on 127.0.0.1 (UDP and TCP,
  a high port) built on dnspython, which the demo DNS check uses as its chosen resolver,
  so it needs no internet and no system resolver.

This module does not need Django: the DNS child runs it as ``python -m alert24.demo_endpoints
dns``. Ports come from the environment (``DEMO_HTTPS_PORT``, ``DEMO_DNS_PORT``), so the
demo monitors and the children that serve them agree.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import os
import signal
import struct
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

log = logging.getLogger(__name__)

DEFAULT_HTTPS_PORT = 8443
DEFAULT_DNS_PORT = 8053
DEMO_ZONE = "alert24.test."
DEMO_DNS_NAME = "status.alert24.test"
# Names the demo certificate covers, and all the CA may ever sign for.
CERT_DNS_NAMES = ("localhost", DEMO_DNS_NAME)
CERT_IPS = ("127.0.0.1", "::1")
CA_DAYS = 3650
CERT_DAYS = 365
RENEW_BEFORE_DAYS = 30  # re-issue well before the SSL check's 14-day warning
TLS_FOLDER = "demo-tls"


def https_port() -> int:
    return int(os.environ.get("DEMO_HTTPS_PORT") or DEFAULT_HTTPS_PORT)


def dns_port() -> int:
    return int(os.environ.get("DEMO_DNS_PORT") or DEFAULT_DNS_PORT)


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class DemoTLS:
    """Where the demo CA and the listener's certificate live (PEM files)."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key_file(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def cert_file(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key_file(self) -> Path:
        return self.folder / "key.pem"


def _write(path: Path, data: bytes, private: bool = False) -> None:
    # Written aside and renamed, so a listener never reads half a file; keys stay 0600.
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Alert24 demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(tls: DemoTLS, now: dt.datetime) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Alert24 demo CA (this machine only)")
    permitted = [x509.DNSName(n) for n in CERT_DNS_NAMES] + [
        x509.IPAddress(ipaddress.ip_network(ip)) for ip in CERT_IPS
    ]
    usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True,
        crl_sign=True, encipher_only=False, decipher_only=False,
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        # Trusting this CA can only ever vouch for the demo's own names.
        .add_extension(x509.NameConstraints(permitted, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    _write(
        tls.ca_key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private=True,
    )
    _write(tls.ca_file, cert.public_bytes(serialization.Encoding.PEM))


def _make_leaf(tls: DemoTLS, now: dt.datetime, days: int) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_cert = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(tls.ca_key_file.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(n) for n in CERT_DNS_NAMES] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in CERT_IPS
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(DEMO_DNS_NAME))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(
        tls.key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private=True,
    )
    _write(tls.cert_file, cert.public_bytes(serialization.Encoding.PEM))


def _days_left(path: Path, now: dt.datetime) -> float:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return -1.0
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def ensure_demo_tls(folder: Path, *, cert_days: int = CERT_DAYS) -> DemoTLS:
    """Make the demo CA once and (re-)issue the listener certificate when it nears expiry."""
    tls = DemoTLS(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if not tls.ca_key_file.exists() or _days_left(tls.ca_file, now) < RENEW_BEFORE_DAYS:
        _make_ca(tls, now)
        tls.cert_file.unlink(missing_ok=True)  # issued by the old CA
    if not tls.key_file.exists() or _days_left(tls.cert_file, now) < RENEW_BEFORE_DAYS:
        _make_leaf(tls, now, cert_days)
    return tls


# --------------------------------------------------------------------------- DNS


def demo_zone(address: str = "127.0.0.1") -> dns.zone.Zone:
    """The ``alert24.test`` zone: the demo status host points at the app's own address."""
    text = f"""
$TTL 60
@       IN SOA  ns.alert24.test. hostmaster.alert24.test. 1 3600 600 86400 60
@       IN NS   ns.alert24.test.
ns      IN A    127.0.0.1
status  IN A    {address}
status  IN AAAA ::1
status  IN TXT  "Alert24 demo: served by manage.py serve"
"""
    return dns.zone.from_text(text, origin=DEMO_ZONE, relativize=False)


def answer(zone: dns.zone.Zone, wire: bytes) -> bytes | None:
    """The authoritative response to one query, or None for a packet that is not one."""
    try:
        query = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    if query.flags & dns.flags.QR:
        return None  # a response, not a query: never answer it (no reflection loops)
    response = dns.message.make_response(query)
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        not_query = query.opcode() != dns.opcode.QUERY
        response.set_rcode(dns.rcode.NOTIMP if not_query else dns.rcode.FORMERR)
        return response.to_wire()
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN or not question.name.is_subdomain(zone.origin):
        response.set_rcode(dns.rcode.REFUSED)  # authoritative only, never a recursor
        return response.to_wire()
    response.flags |= dns.flags.AA
    soa = zone.find_rrset(zone.origin, dns.rdatatype.SOA)
    node = zone.get_node(question.name)
    if node is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(soa)
        return response.to_wire()
    rdataset = node.get_rdataset(dns.rdataclass.IN, question.rdtype)
    if rdataset is None:
        response.authority.append(soa)  # NODATA: the name exists, not this type
    else:
        rrset = dns.rrset.RRset(question.name, dns.rdataclass.IN, question.rdtype)
        rrset.update(rdataset)
        response.answer.append(rrset)
    return response.to_wire()


class _UDP(asyncio.DatagramProtocol):
    def __init__(self, zone: dns.zone.Zone) -> None:
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        reply = answer(self.zone, data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def _tcp(zone: dns.zone.Zone, reader, writer) -> None:
    # RFC 7766: two-byte length prefix, several queries per connection, idle timeout.
    try:
        while True:
            (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), 10))
            reply = answer(zone, await asyncio.wait_for(reader.readexactly(length), 10))
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve_dns(host: str, port: int, stop: asyncio.Event) -> None:
    """Answer the demo zone on ``host:port`` over UDP and TCP until ``stop`` is set."""
    zone = demo_zone()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _UDP(zone), local_addr=(host, port))
    server = await asyncio.start_server(lambda r, w: _tcp(zone, r, w), host, port)
    log.info("demo DNS for %s listening on %s:%s (UDP+TCP)", DEMO_ZONE, host, port)
    try:
        await stop.wait()
    finally:
        transport.close()
        server.close()
        await server.wait_closed()


def run_dns(host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT (how ``serve`` stops its children)."""

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve_dns(host, port, stop)

    asyncio.run(_main())


# --------------------------------------------------------------------------- children


def child_commands(
    python: str, host: str, https: int, dns_listen: int, tls: DemoTLS
) -> dict[str, list[str]]:
    """The argv of the two demo endpoint children, as ``serve`` starts them.

    The HTTPS listener is gunicorn (already a dependency) with one small threaded worker:
    real TLS in front of the same app, for the demo's SSL and HTTPS monitors.
    """
    return {
        "https": [
            python, "-m", "gunicorn", "alert24.wsgi:application",
            "--bind", f"{host}:{https}", "--certfile", str(tls.cert_file),
            "--keyfile", str(tls.key_file), "--workers", "1", "--worker-class", "gthread",
            "--threads", "4", "--graceful-timeout", "5", "--log-level", "warning",
        ],
        "dns": [
            python, "-m", "alert24.demo_endpoints", "dns", "--host", host,
            "--port", str(dns_listen),
        ],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Alert24 demo endpoints")
    sub = parser.add_subparsers(dest="command", required=True)
    dns_cmd = sub.add_parser("dns", help="serve the demo DNS zone")
    dns_cmd.add_argument("--host", default="127.0.0.1")
    dns_cmd.add_argument("--port", type=int, default=DEFAULT_DNS_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        run_dns(args.host, args.port)


if __name__ == "__main__":
    main()
