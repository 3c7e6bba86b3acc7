import time

import pytest

from monitoring.checks.dns import check_dns

from .conftest import run


def dns_check(server, name, record_type="A", **kwargs):
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("timeout_s", 2)
    return run(
        check_dns(name, record_type, resolver_ip="127.0.0.1", resolver_port=server.port, **kwargs)
    )


def test_a_records_any_and_all(dns_server):
    plain = dns_check(dns_server, "example.test")
    assert plain.status == "up", plain.reason
    assert sorted(plain.details["answers"]) == ["192.0.2.10", "192.0.2.11"]
    assert plain.details["resolver"] == f"127.0.0.1:{dns_server.port}"

    assert dns_check(dns_server, "example.test", expected=["192.0.2.11"]).status == "up"
    some = dns_check(dns_server, "example.test", expected=["192.0.2.11", "198.51.100.1"])
    assert some.status == "up"
    every = dns_check(
        dns_server, "example.test", expected=["192.0.2.11", "198.51.100.1"], match="all"
    )
    assert every.status == "down"
    assert every.reason.startswith("A 198.51.100.1 missing for example.test; got 192.0.2.1")
    assert every.details["missing"] == ["198.51.100.1"]


def test_mismatch_is_down_with_answers_in_reason(dns_server):
    result = dns_check(dns_server, "example.test", expected=["203.0.113.9"])
    assert result.status == "down"
    assert "none of the expected A values for example.test found" in result.reason
    assert "192.0.2.10" in result.reason


def test_nxdomain_and_no_answer(dns_server):
    missing = dns_check(dns_server, "nope.example.test")
    assert missing.status == "down"
    assert missing.reason == (
        f"nope.example.test does not exist (NXDOMAIN from 127.0.0.1:{dns_server.port})"
    )
    empty = dns_check(dns_server, "www.example.test", "TXT")
    assert empty.status == "down"
    assert empty.reason.startswith("no TXT records for www.example.test")


@pytest.mark.parametrize(
    ("name", "rtype", "expected", "status"),
    [
        ("example.test", "MX", ["mail.example.test"], "up"),
        ("example.test", "MX", ["10 mail.example.test."], "up"),
        ("example.test", "MX", ["20 mail.example.test"], "down"),
        ("example.test", "TXT", ["Verify=AbC"], "up"),
        ("example.test", "TXT", ["verify=abc"], "down"),  # TXT is case-sensitive
        ("example.test", "AAAA", ["2001:0db8:0::10"], "up"),
        ("www.example.test", "CNAME", ["EXAMPLE.test"], "up"),
        ("192.0.2.10", "PTR", ["example.test"], "up"),
    ],
)
def test_record_types(dns_server, name, rtype, expected, status):
    result = dns_check(dns_server, name, rtype, expected=expected)
    assert result.status == status, result.reason


def test_timeout_when_resolver_never_answers(silent_dns_server):
    started = time.monotonic()
    result = dns_check(silent_dns_server, "example.test", timeout_s=0.6)
    assert result.status == "down"
    assert "timed out after 600 ms" in result.reason
    assert time.monotonic() - started < 2
    assert silent_dns_server.queries >= 1


def test_private_resolver_refused_by_default(dns_server):
    result = dns_check(dns_server, "example.test", allow_private=False)
    assert result.status == "down"
    assert result.reason == "target address 127.0.0.1 is loopback; not allowed"
