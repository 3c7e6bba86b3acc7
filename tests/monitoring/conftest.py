from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accounts.models import OrganizationMember
from monitoring.checks.http import close_shared_clients

from .servers import (
    HOST,
    DNSTestServer,
    HTTPTestServer,
    LoopThread,
    close_after_handshake,
    start_server,
)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a check on a fresh loop and close the loop's shared HTTP clients afterwards."""

    async def _main() -> Any:
        try:
            return await coro
        finally:
            await close_shared_clients()

    return asyncio.run(_main())


@pytest.fixture(scope="session")
def server_loop():
    loop = LoopThread()
    yield loop
    loop.stop()


@dataclass
class HTTPServers:
    server: HTTPTestServer
    http_port: int
    https_port: int
    https_expiring_port: int

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.http_port}"


NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Alert24 Test CA")


@pytest.fixture(scope="session")
def cafile(ca, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def _self_signed_context(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-signed.test")])
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=90))
        .add_extension(san, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "self.pem", directory / "self.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@dataclass
class TLSServers:
    valid: int
    expired: int
    self_signed: int
    wrong_host: int
    expiring: int


@pytest.fixture(scope="session")
def tls_contexts(ca, tmp_path_factory) -> dict[str, ssl.SSLContext]:
    return {
        "valid": _server_context(
            ca.issue_cert("localhost", HOST, not_after=NOW + dt.timedelta(days=90))
        ),
        "expired": _server_context(
            ca.issue_cert(
                "localhost",
                HOST,
                not_before=NOW - dt.timedelta(days=60),
                not_after=NOW - dt.timedelta(days=2, hours=1),
            )
        ),
        "self_signed": _self_signed_context(tmp_path_factory.mktemp("selfsigned")),
        "wrong_host": _server_context(
            ca.issue_cert("wrong.example", not_after=NOW + dt.timedelta(days=90))
        ),
        "expiring": _server_context(
            ca.issue_cert("localhost", HOST, not_after=NOW + dt.timedelta(days=3, hours=1))
        ),
    }


@pytest.fixture(scope="session")
def http_servers(server_loop, tls_contexts) -> HTTPServers:
    handler = HTTPTestServer()

    async def _start() -> HTTPServers:
        _plain, http_port = await start_server(handler.handle)
        _tls, https_port = await start_server(handler.handle, tls_contexts["valid"])
        _soon, soon_port = await start_server(handler.handle, tls_contexts["expiring"])
        return HTTPServers(handler, http_port, https_port, soon_port)

    return server_loop.run(_start())


@pytest.fixture(scope="session")
def tls_servers(server_loop, tls_contexts) -> TLSServers:
    async def _start() -> TLSServers:
        ports = {}
        for name, context in tls_contexts.items():
            _server, ports[name] = await start_server(close_after_handshake, context)
        return TLSServers(**ports)

    return server_loop.run(_start())


DNS_RECORDS = {
    ("example.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("example.test.", "AAAA"): ["2001:db8::10"],
    ("example.test.", "MX"): ["10 mail.example.test.", "20 backup.example.test."],
    ("example.test.", "TXT"): ['"v=spf1 include:mail.example.test -all"', '"Verify=AbC"'],
    ("www.example.test.", "CNAME"): ["example.test."],
    ("10.2.0.192.in-addr.arpa.", "PTR"): ["example.test."],
}


@pytest.fixture(scope="session")
def dns_server():
    server = DNSTestServer(DNS_RECORDS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def silent_dns_server():
    server = DNSTestServer({}, answer=False)
    yield server
    server.stop()


@pytest.fixture
def sign_in(client, make_user):
    """A client signed in as a member of ``organization`` with ``role`` (not a superuser)."""

    def sign_in_as(organization, role: str, *, is_staff: bool = False):
        user = make_user(is_staff=is_staff)
        OrganizationMember.objects.create(organization=organization, user=user, role=role)
        client.force_login(user)
        return user

    return sign_in_as
