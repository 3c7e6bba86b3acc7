import pytest

from monitoring.checks.http import check_http
from monitoring.targets import blocked_category, vet_target

from .conftest import run


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.64.1.1", "carrier-grade NAT (CGNAT)"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.5", "private"),  # IPv4-mapped IPv6 must not slip through
        ("2002:a00:5::1", "private"),  # 6to4 wrapping 10.0.0.5
        ("255.255.255.255", "reserved"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_blocked_categories(address, category):
    assert blocked_category(address) == category


def test_private_literal_refused_with_readable_reason():
    target = run(vet_target("10.0.0.5", 80))
    assert not target.ok
    assert target.failure.status == "down"
    assert target.failure.reason == "target address 10.0.0.5 is private; not allowed"
    assert target.failure.details["error"] == "target_refused"


def test_metadata_refused_even_though_link_local_is_broader():
    target = run(vet_target("169.254.169.254", 80))
    assert target.failure.reason == (
        "target address 169.254.169.254 is a cloud metadata address; not allowed"
    )


def test_name_resolving_to_private_ip_is_refused():
    target = run(vet_target("localhost", 80))
    assert not target.ok
    assert "is loopback; not allowed (localhost resolves to it)" in target.failure.reason


def test_allowed_by_argument_and_by_setting(settings):
    assert run(vet_target("127.0.0.1", 80, allow_private=True)).addresses == ["127.0.0.1"]
    assert not run(vet_target("127.0.0.1", 80)).ok
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    assert run(vet_target("127.0.0.1", 80)).ok
    assert not run(vet_target("127.0.0.1", 80, allow_private=False)).ok  # argument wins


def test_http_check_vets_at_connect_time(http_servers):
    # The hostname is only resolved inside the connection backend; it must be vetted there.
    before = http_servers.server.requests
    result = run(check_http(f"http://localhost:{http_servers.http_port}/ok", timeout_s=2))
    assert result.status == "down"
    assert result.reason.startswith("target address 127.0.0.1 is loopback; not allowed")
    assert result.details["error"] == "target_refused"
    assert http_servers.server.requests == before  # no request reached the server
