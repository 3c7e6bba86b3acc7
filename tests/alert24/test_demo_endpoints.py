"""The demo's HTTPS listener and DNS server, started exactly as ``manage.py serve`` starts them.

Real processes on 127.0.0.1 (gunicorn with the demo certificate, the dnspython responder),
checked by the real check functions with the demo monitors' own configuration.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import dns.message
import dns.query
import dns.rcode
import pytest
from cryptography import x509
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from alert24 import demo_endpoints
from alert24.management.commands.serve import stop_children
from monitoring.checks import run_check
from monitoring.checks.http import close_shared_clients
from monitoring.checks.ssl import check_ssl
from monitoring.models import MonitoringCheck
from tests.child_processes import database_url
from tests.monitoring.servers import LoopThread, free_port

HOST = "127.0.0.1"


def run(coro):
    async def _main():
        try:
            return await coro
        finally:
            await close_shared_clients()

    return asyncio.run(_main())


# --------------------------------------------------------------------------- certificates


def test_demo_ca_is_made_once_and_the_certificate_renewed_before_expiry(tmp_path):
    tls = demo_endpoints.ensure_demo_tls(tmp_path, cert_days=10)
    ca, leaf = tls.ca_file.read_bytes(), tls.cert_file.read_bytes()
    assert tls.key_file.stat().st_mode & 0o777 == 0o600
    assert tls.ca_key_file.stat().st_mode & 0o777 == 0o600

    again = demo_endpoints.ensure_demo_tls(tmp_path)  # 10 days left < 30: re-issue
    assert again.ca_file.read_bytes() == ca
    renewed = x509.load_pem_x509_certificate(again.cert_file.read_bytes())
    assert again.cert_file.read_bytes() != leaf
    assert renewed.issuer == x509.load_pem_x509_certificate(ca).subject
    names = renewed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert demo_endpoints.DEMO_DNS_NAME in names.get_values_for_type(x509.DNSName)

    stable = again.cert_file.read_bytes()
    demo_endpoints.ensure_demo_tls(tmp_path)  # a year left: nothing to do
    assert tls.cert_file.read_bytes() == stable


def _serve_tls(loop: LoopThread, certfile, keyfile) -> int:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)

    async def _close(_reader, writer):
        writer.close()

    async def _start():
        server = await asyncio.start_server(_close, HOST, 0, ssl=context)
        return server.sockets[0].getsockname()[1]

    return loop.run(_start())


def test_trusting_the_demo_ca_vouches_for_nothing_but_the_demo_names(tmp_path):
    """The CA is name-constrained: a certificate it signs for another name stays untrusted."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    tls = demo_endpoints.ensure_demo_tls(tmp_path / "ca")
    ca_cert = x509.load_pem_x509_certificate(tls.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(tls.ca_key_file.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    forged = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(ca_cert.not_valid_after_utc)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("bank.example")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "forged.pem").write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "forged-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    loop = LoopThread()
    try:
        port = _serve_tls(loop, tmp_path / "forged.pem", tmp_path / "forged-key.pem")
        with override_settings(MONITORING_EXTRA_CA_FILE=str(tls.ca_file)):
            result = run(
                check_ssl(HOST, port, server_name="bank.example", allow_private=True, timeout_s=5)
            )
    finally:
        loop.stop()
    assert result.status == "down"
    assert result.details["trusted"] is False
    assert "permitted subtree violation" in result.reason


# --------------------------------------------------------------------------- DNS answers


def _query(name: str, rdtype: str = "A") -> dns.message.Message:
    zone = demo_endpoints.demo_zone()
    return dns.message.from_wire(
        demo_endpoints.answer(zone, dns.message.make_query(name, rdtype).to_wire())
    )


def test_the_zone_answers_authoritatively_and_refuses_to_recurse():
    found = _query("status.alert24.test", "A")
    assert found.rcode() == dns.rcode.NOERROR
    assert [r.to_text() for r in found.answer[0]] == ["127.0.0.1"]
    nodata = _query("status.alert24.test", "MX")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority
    assert _query("nope.alert24.test").rcode() == dns.rcode.NXDOMAIN
    assert _query("example.com").rcode() == dns.rcode.REFUSED
    assert demo_endpoints.answer(demo_endpoints.demo_zone(), b"\x00garbage") is None
    response_packet = dns.message.make_response(dns.message.make_query("a.alert24.test", "A"))
    assert demo_endpoints.answer(demo_endpoints.demo_zone(), response_packet.to_wire()) is None


# --------------------------------------------------------------------------- live children


def _wait_for_port(port: int, child: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, f"child exited with {child.returncode}"
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def _port_free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        # As servers bind: our own closed connections may linger in TIME_WAIT.
        if kind == socket.SOCK_STREAM:  # (for UDP it would let two servers share a port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


@pytest.fixture
def demo_children(tmp_path, monkeypatch):
    """The HTTPS listener and DNS server with serve's argv, on free ports, for the test DB."""
    https, dns_listen = free_port(), free_port()
    monkeypatch.setenv("DEMO_HTTPS_PORT", str(https))
    monkeypatch.setenv("DEMO_DNS_PORT", str(dns_listen))
    tls = demo_endpoints.ensure_demo_tls(tmp_path / "demo-tls")
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL}
    commands = demo_endpoints.child_commands(sys.executable, HOST, https, dns_listen, tls)
    children = {
        name: subprocess.Popen(argv, cwd=settings.BASE_DIR, env=env, start_new_session=True)
        for name, argv in commands.items()
    }
    try:
        _wait_for_port(https, children["https"])
        _wait_for_port(dns_listen, children["dns"])
        yield tls, https, dns_listen, children
    finally:
        stop_children(list(children.values()))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_demo_ssl_https_and_dns_monitors_are_up_against_the_real_children(demo_children):
    tls, https, dns_listen, children = demo_children
    with override_settings(SITE_URL="http://127.0.0.1:8000"):
        call_command("load_demo", verbosity=0)
    demo = MonitoringCheck.objects.filter(organization__slug="demo")
    live = {c.check_type: c for c in demo.filter(check_type__in=["ssl", "http", "dns"])}
    assert set(live) == {"ssl", "http", "dns"}
    assert not any(c.is_paused for c in live.values())
    assert live["ssl"].config["port"] == https
    assert live["dns"].config["resolver_port"] == dns_listen

    with override_settings(MONITORING_EXTRA_CA_FILE=str(tls.ca_file)):
        for check in live.values():
            result = run(run_check(check.check_type, check.run_config(), allow_private=True))
            assert result.status == "up", (check.name, result.reason)
        ssl_result = run(run_check("ssl", live["ssl"].run_config(), allow_private=True))
        assert ssl_result.details["trusted"] is True
        assert ssl_result.details["certificate"]["hostname_matches"] is True
        assert ssl_result.reason.startswith("certificate valid for 36")

    # Without the demo CA the same certificate is an untrusted chain, for both check types.
    with override_settings(MONITORING_EXTRA_CA_FILE=""):
        untrusted = run(run_check("ssl", live["ssl"].run_config(), allow_private=True))
        assert untrusted.status == "down"
        assert untrusted.reason.startswith("untrusted certificate: unable to get local issuer")
        assert untrusted.details["trusted"] is False
        https_result = run(run_check("http", live["http"].run_config(), allow_private=True))
        assert https_result.status == "down"
        assert "certificate verification failed" in https_result.reason

    # The DNS server answers over TCP as well, and only for its zone.
    over_tcp = dns.query.tcp(
        dns.message.make_query(demo_endpoints.DEMO_DNS_NAME, "A"), HOST, port=dns_listen, timeout=5
    )
    assert [r.to_text() for r in over_tcp.answer[0]] == ["127.0.0.1"]
    elsewhere = run(
        run_check(
            "dns",
            {**live["dns"].config, "name": "status.example.com", "timeout_s": 3},
            allow_private=True,
        )
    )
    assert elsewhere.status == "down"

    # serve's stop path takes both down, whole process groups included, and frees the ports.
    stop_children(list(children.values()))
    for child in children.values():
        assert child.returncode is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(child.pid, 0)
    assert _port_free(https, socket.SOCK_STREAM)
    assert _port_free(dns_listen, socket.SOCK_DGRAM)
    assert _port_free(dns_listen, socket.SOCK_STREAM)
    assert children["dns"].returncode == 0 or children["dns"].returncode == -signal.SIGTERM
