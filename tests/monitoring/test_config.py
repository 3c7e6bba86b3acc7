import pytest
from django.core.exceptions import ValidationError

from monitoring.checks.config import validate_check_config


def errors(check_type: str, config: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        validate_check_config(check_type, config)
    return info.value.message_dict


def test_valid_http_config_gets_defaults():
    cleaned = validate_check_config("http", {"url": "https://example.com/health"})
    assert cleaned["method"] == "GET"
    assert cleaned["accepted_status"] == "200-299"
    assert cleaned["interval_s"] == 60
    assert cleaned["timeout_s"] == 10
    assert cleaned["follow_redirects"] is True
    assert cleaned["upside_down"] is False


@pytest.mark.parametrize(
    ("config", "field", "fragment"),
    [
        ({"url": "http://exa mple.com/"}, "url", "not a valid host name"),
        ({"url": "not a url"}, "url", "Unsupported scheme"),
        ({"url": "ftp://example.com/"}, "url", "Unsupported scheme 'ftp'"),
        ({"url": "http://"}, "url", ""),
        ({"url": "http://user:pw@example.com/"}, "url", "basic auth"),
        ({"url": "https://example.com", "interval_s": 10}, "interval_s", "at least 30"),
        ({"url": "https://example.com", "interval_s": 7200}, "interval_s", "at most 3600"),
        (
            {"url": "https://example.com", "accepted_status": "2xx-abc"},
            "accepted_status",
            "2xx-abc",
        ),
        ({"url": "https://example.com", "json_path": "$..x", "json_expected": 1}, "json_path", ""),
        ({"url": "https://example.com", "json_expected": "ok"}, "json_path", ""),
        ({"url": "https://example.com", "degraded_after_ms": -5}, "degraded_after_ms", "negative"),
        ({"url": "https://example.com", "degraded_after_ms": 20000}, "degraded_after_ms", "below"),
        ({"url": "https://example.com", "method": "BREW"}, "method", "BREW"),
        ({"url": "https://example.com", "timout_s": 5}, "timout_s", "Unknown setting"),
        ({"url": "https://example.com", "keyword_absent": True}, "keyword", "absent"),
        ({"url": "https://example.com", "headers": {"Bad Name": "x"}}, "headers", "Bad Name"),
        ({"url": "https://example.com", "max_redirects": 99}, "max_redirects", "at most 20"),
    ],
)
def test_http_errors_name_the_field(config, field, fragment):
    found = errors("http", config)
    assert field in found, found
    assert fragment in " ".join(found[field])


def test_missing_url_and_several_errors_reported_together():
    found = errors("http", {"interval_s": 5, "timeout_s": -1})
    assert set(found) == {"url", "interval_s", "timeout_s"}


def test_keyword_check_requires_keyword():
    assert errors("keyword", {"url": "https://example.com"})["keyword"] == [
        "This field is required."
    ]
    assert validate_check_config("keyword", {"url": "https://example.com", "keyword": "OK"})


def test_tcp_ssl_ping_fields():
    assert "port" in errors("tcp", {"host": "example.com", "port": 70000})
    assert "port" in errors("tcp", {"host": "example.com", "port": 0})
    assert "port" in errors("tcp", {"host": "example.com"})
    assert "host" in errors("tcp", {"host": "bad_host!", "port": 80})
    assert "critical_days" in errors(
        "ssl", {"host": "example.com", "warn_days": 5, "critical_days": 9}
    )
    assert "warn_days" in errors("ssl", {"host": "example.com", "warn_days": -1})
    assert "tcp_ports" in errors("ping", {"host": "example.com", "tcp_ports": [80, 0]})
    assert validate_check_config("ssl", {"host": "example.com"})["port"] == 443


def test_dns_fields():
    assert "record_type" in errors("dns", {"name": "example.com", "record_type": "AXFR2"})
    assert "name" in errors("dns", {"name": "-bad-.example.com"})
    assert "expected" in errors("dns", {"name": "example.com", "expected": ["not-an-ip"]})
    assert "resolver_ip" in errors("dns", {"name": "example.com", "resolver_ip": "dns.google"})
    assert "resolver_port" in errors("dns", {"name": "example.com", "resolver_port": 99999})
    cleaned = validate_check_config(
        "dns", {"name": "example.com", "record_type": "mx", "expected": "a.example, b.example"}
    )
    assert cleaned["record_type"] == "MX"
    assert cleaned["expected"] == ["a.example", "b.example"]


def test_heartbeat_and_unknown_type():
    assert "period_s" in errors("heartbeat", {})
    assert "grace_s" in errors("heartbeat", {"period_s": 300, "grace_s": -1})
    assert "check_type" in errors("smtp", {})
