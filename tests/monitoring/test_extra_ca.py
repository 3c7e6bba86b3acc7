"""MONITORING_EXTRA_CA_FILE: a private CA trusted besides the system store, and nothing more.

Real TLS servers on 127.0.0.1 (tests/monitoring/conftest.py) with certificates from a
trustme CA that the system store does not know.
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from monitoring.checks import run_check

from .conftest import run


def ssl_check(port: int, **config):
    return run(run_check("ssl", {"host": "127.0.0.1", "port": port, **config}, allow_private=True))


def https_check(port: int):
    config = {"url": f"https://localhost:{port}/ok", "timeout_s": 5}
    return run(run_check("http", config, allow_private=True))


def test_without_the_extra_ca_a_private_chain_is_untrusted(tls_servers, http_servers):
    with override_settings(MONITORING_EXTRA_CA_FILE=""):
        result = ssl_check(tls_servers.valid)
        assert result.status == "down"
        assert result.reason.startswith("untrusted certificate")
        assert https_check(http_servers.https_port).status == "down"


def test_the_extra_ca_makes_its_certificates_trusted(tls_servers, http_servers, cafile):
    with override_settings(MONITORING_EXTRA_CA_FILE=cafile):
        result = ssl_check(tls_servers.valid)
        assert result.status == "up", result.reason
        assert result.details["trusted"] is True
        https = https_check(http_servers.https_port)
        assert https.status == "up", https.reason


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("self_signed", "untrusted certificate: self-signed certificate"),
        ("expired", "certificate expired 2 days ago"),
        ("wrong_host", "certificate is not valid for 127.0.0.1"),
    ],
)
def test_the_extra_ca_still_flags_bad_chains(tls_servers, cafile, server, reason):
    with override_settings(MONITORING_EXTRA_CA_FILE=cafile):
        result = ssl_check(getattr(tls_servers, server))
    assert result.status == "down"
    assert result.reason.startswith(reason), result.reason
    assert result.details["trusted"] is False


def test_a_missing_extra_ca_file_is_a_readable_failure_not_a_refused_connection(tls_servers):
    with override_settings(MONITORING_EXTRA_CA_FILE="/nonexistent/ca.pem"):
        result = ssl_check(tls_servers.valid)
    assert result.status == "down"
    assert "No such file" in result.reason
    assert "refused" not in result.reason
