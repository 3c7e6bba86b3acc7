from monitoring.checks.ssl import check_ssl

from .conftest import run


def ssl_check(port: int, **kwargs):
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("timeout_s", 5)
    return run(check_ssl(kwargs.pop("host", "127.0.0.1"), port, **kwargs))


def test_valid_certificate_is_up_with_details(tls_servers, cafile):
    result = ssl_check(tls_servers.valid, cafile=cafile)
    assert result.status == "up", result.reason
    assert result.reason == "certificate valid for 89 days"
    cert = result.details["certificate"]
    assert cert["hostname_matches"] is True
    assert result.details["trusted"] is True
    assert "Alert24 Test CA" in cert["issuer"]
    assert result.details["tls_version"].startswith("TLS")
    named = ssl_check(tls_servers.valid, host="localhost", cafile=cafile)
    assert named.status == "up", named.reason


def test_thresholds_warn_and_critical(tls_servers, cafile):
    warn = ssl_check(tls_servers.expiring, cafile=cafile, warn_days=14, critical_days=1)
    assert warn.status == "degraded"
    assert warn.reason.startswith("certificate expires in 3 days")
    assert warn.details["days_left"] == 3
    critical = ssl_check(tls_servers.expiring, cafile=cafile, warn_days=14, critical_days=7)
    assert critical.status == "down"
    assert "critical below 7 days" in critical.reason
    long_lived = ssl_check(tls_servers.valid, cafile=cafile, warn_days=100, critical_days=7)
    assert long_lived.status == "degraded"


def test_expired_certificate_is_down(tls_servers, cafile):
    result = ssl_check(tls_servers.expired, cafile=cafile)
    assert result.status == "down"
    assert result.reason.startswith("certificate expired 2 days ago")
    assert result.details["verify_error"] == "certificate has expired"
    assert result.details["certificate"]["expired"] is True


def test_self_signed_certificate_is_untrusted(tls_servers, cafile):
    result = ssl_check(tls_servers.self_signed, cafile=cafile)
    assert result.status == "down"
    assert result.reason == "untrusted certificate: self-signed certificate"
    assert result.details["certificate"]["self_signed"] is True
    assert result.details["trusted"] is False


def test_wrong_hostname_is_down(tls_servers, cafile):
    result = ssl_check(tls_servers.wrong_host, cafile=cafile)
    assert result.status == "down"
    assert result.reason == "certificate is not valid for 127.0.0.1 (it covers wrong.example)"
    assert result.details["certificate"]["hostname_matches"] is False
    # The same certificate is fine when we ask for the name it was issued to.
    right = ssl_check(tls_servers.wrong_host, cafile=cafile, server_name="wrong.example")
    assert right.status == "up", right.reason


def test_untrusted_without_local_ca(tls_servers):
    result = ssl_check(tls_servers.valid)  # system trust store does not know the test CA
    assert result.status == "down"
    assert result.reason == "untrusted certificate: unable to get local issuer certificate"


def test_plain_tcp_port_and_closed_port(http_servers):
    from .servers import free_port

    plain = ssl_check(http_servers.http_port, timeout_s=2)
    assert plain.status == "down"
    port = http_servers.http_port  # speaks HTTP, waits for a request: no ServerHello comes
    assert plain.reason.startswith(f"TLS handshake with 127.0.0.1:{port} timed out")
    port = free_port()
    closed = ssl_check(port)
    assert closed.status == "down"
    assert closed.reason == f"connection refused to 127.0.0.1:{port}"
