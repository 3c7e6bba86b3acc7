import time

import pytest

from monitoring.checks.http import (
    check_http,
    json_compare,
    parse_json_path,
    parse_status_spec,
    status_accepted,
)

from .conftest import run


def http(url: str, **kwargs):
    kwargs.setdefault("allow_private", True)
    kwargs.setdefault("timeout_s", 5)
    return run(check_http(url, **kwargs))


def test_ok_with_keyword_reports_status_ip_and_time(http_servers):
    result = http(f"{http_servers.base}/ok", keyword="status: OK")
    assert result.status == "up", result.reason
    assert result.details["status_code"] == 200
    assert result.details["resolved_ip"] == "127.0.0.1"
    assert result.details["keyword_found"] is True
    assert result.response_time_ms is not None and result.response_time_ms >= 0
    assert result.reason.startswith("HTTP 200 from 127.0.0.1")
    result.to_dict()  # JSON-friendly


def test_keyword_missing_and_case_sensitivity(http_servers):
    missing = http(f"{http_servers.base}/ok", keyword="status: ok")
    assert missing.status == "down"
    assert missing.reason == "keyword 'status: ok' not found in response"
    folded = http(f"{http_servers.base}/ok", keyword="status: ok", keyword_case_sensitive=False)
    assert folded.status == "up"


def test_keyword_absent_mode(http_servers):
    present = http(f"{http_servers.base}/ok", keyword="nominal", keyword_absent=True)
    assert present.status == "down"
    assert "must be absent" in present.reason
    assert http(f"{http_servers.base}/ok", keyword="ERROR", keyword_absent=True).status == "up"


@pytest.mark.parametrize("code", [500, 503])
def test_server_error_is_down_with_code_in_reason(http_servers, code):
    result = http(f"{http_servers.base}/status/{code}")
    assert result.status == "down"
    assert result.reason.startswith(f"HTTP {code} from 127.0.0.1 after ")
    assert result.details["status_code"] == code


def test_accepted_status_spec_allows_listed_codes(http_servers):
    assert http(f"{http_servers.base}/status/404", accepted_status="200-299,404").status == "up"
    assert http(f"{http_servers.base}/status/204", accepted_status="2xx").status == "up"
    assert http(f"{http_servers.base}/status/201", accepted_status="200").status == "down"


@pytest.mark.parametrize(
    ("path", "op", "expected", "status"),
    [
        ("$.status", "==", "ok", "up"),
        ("$.status", "==", "degraded", "down"),
        ("status", "!=", "down", "up"),
        ("data.items[0].name", "==", "alpha", "up"),
        ("$.data.items[1].count", ">", "5", "up"),
        ("$.data.items[1].count", "<", 5, "down"),
        ("$.tags", "contains", "eu", "up"),
        ("$.healthy", "==", "true", "up"),
        ("$.version", "==", "2.1", "up"),
        ("$.data.items[5].name", "==", "x", "down"),
    ],
)
def test_json_assertions(http_servers, path, op, expected, status):
    result = http(f"{http_servers.base}/json", json_path=path, json_op=op, json_expected=expected)
    assert result.status == status, result.reason


def test_json_assertion_reason_and_non_json_body(http_servers):
    result = http(f"{http_servers.base}/json", json_path="$.status", json_expected="down")
    assert result.reason == "JSON assertion failed: $.status is ok, expected == down"
    not_json = http(f"{http_servers.base}/ok", json_path="$.status", json_expected="ok")
    assert not_json.status == "down"
    assert "not valid JSON" in not_json.reason


def test_slow_response_is_degraded_then_down_after_timeout(http_servers):
    slow = http(f"{http_servers.base}/slow/400", degraded_after_ms=150, timeout_s=3)
    assert slow.status == "degraded"
    assert slow.reason.startswith("slow response: HTTP 200 from 127.0.0.1 after")
    assert slow.response_time_ms >= 400

    started = time.monotonic()
    late = http(f"{http_servers.base}/slow/3000", timeout_s=0.7)
    assert late.status == "down"
    assert "700 ms" in late.reason
    assert time.monotonic() - started < 2


def test_hanging_and_trickling_servers_end_at_the_deadline(http_servers):
    for path in ("/hang", "/trickle"):
        started = time.monotonic()
        result = http(f"{http_servers.base}{path}", timeout_s=1)
        took = time.monotonic() - started
        assert result.status == "down", path
        assert "1 s" in result.reason, result.reason
        assert took < 2.5, (path, took)


def test_connection_dropped_mid_response(http_servers):
    result = http(f"{http_servers.base}/drop")
    assert result.status == "down"
    assert "dropped mid-response" in result.reason


def test_redirects_followed_and_capped(http_servers):
    ok = http(f"{http_servers.base}/redirect/3", keyword="arrived", max_redirects=5)
    assert ok.status == "up"
    assert len(ok.details["redirects"]) == 3
    assert ok.details["final_url"].endswith("/redirect/0")

    capped = http(f"{http_servers.base}/redirect/3", max_redirects=2)
    assert capped.status == "down"
    assert capped.reason.startswith("too many redirects (more than 2)")

    forever = http(f"{http_servers.base}/redirect-loop")
    assert forever.status == "down"
    assert "too many redirects (more than 5)" in forever.reason
    assert "/redirect-loop" in forever.reason

    not_followed = http(f"{http_servers.base}/redirect/1", follow_redirects=False)
    assert not_followed.status == "down"
    assert not_followed.reason.startswith("HTTP 302")


def test_big_body_is_not_buffered(http_servers):
    started = time.monotonic()
    result = http(f"{http_servers.base}/big", keyword="never-there", timeout_s=10)
    assert result.status == "down"
    assert result.reason == "keyword 'never-there' not found in first 1 MiB"
    assert result.details["body_truncated"] is True
    assert result.details["body_bytes_read"] == 1024 * 1024
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    # The server stopped long before 50 MB: we hung up after ~1 MiB (+ socket buffers).
    assert http_servers.server.big_bytes_sent < 20 * 1024 * 1024


def test_method_headers_body_are_sent(http_servers):
    result = http(
        f"{http_servers.base}/echo",
        method="post",
        headers={"X-Probe": "alert24"},
        body='{"ping": 1}',
        json_path="$.method",
        json_expected="POST",
    )
    assert result.status == "up", result.reason
    sent = http_servers.server.last_request
    assert sent["headers"]["x-probe"] == "alert24"
    assert sent["body"] == '{"ping": 1}'
    assert sent["headers"]["user-agent"].startswith("Alert24")


def test_basic_auth(http_servers):
    denied = http(f"{http_servers.base}/auth")
    assert denied.status == "down" and denied.details["status_code"] == 401
    allowed = http(
        f"{http_servers.base}/auth", basic_auth_user="monitor", basic_auth_password="s3cret"
    )
    assert allowed.status == "up" and allowed.details["status_code"] == 200


def test_connection_refused(http_servers):
    from .servers import free_port

    port = free_port()
    result = http(f"http://127.0.0.1:{port}/")
    assert result.status == "down"
    assert result.reason == f"connection refused to 127.0.0.1:{port}"


def test_https_collects_certificate(http_servers, cafile):
    result = http(f"https://localhost:{http_servers.https_port}/ok", cafile=cafile)
    assert result.status == "up", result.reason
    cert = result.details["certificate"]
    assert cert["hostname_matches"] is True
    assert 88 <= cert["days_left"] <= 90
    assert "Alert24 Test CA" in cert["issuer"]


def test_https_cert_expiring_soon_is_degraded(http_servers, cafile):
    url = f"https://127.0.0.1:{http_servers.https_expiring_port}/ok"
    result = http(url, cafile=cafile, cert_expiry_warn_days=14)
    assert result.status == "degraded"
    assert result.reason.startswith("certificate expires in 3 days")
    assert http(url, cafile=cafile, cert_expiry_warn_days=2).status == "up"


def test_https_untrusted_is_down_with_verification_text(http_servers):
    result = http(f"https://localhost:{http_servers.https_port}/ok")  # default trust store
    assert result.status == "down"
    assert "certificate verification failed" in result.reason
    assert "unable to get local issuer certificate" in result.reason
    unverified = http(f"https://localhost:{http_servers.https_port}/ok", verify_tls=False)
    assert unverified.status == "up"
    assert unverified.details["certificate"]["subject"]


def test_status_spec_parsing():
    assert parse_status_spec("200-299, 301") == ((200, 299), (301, 301))
    assert parse_status_spec("2xx,404") == ((200, 299), (404, 404))
    assert status_accepted(301, parse_status_spec("200-299,301"))
    assert not status_accepted(302, parse_status_spec("200-299,301"))
    for bad in ("2xx-abc", "", "99", "600", "300-200", "200-", "abc"):
        with pytest.raises(ValueError):
            parse_status_spec(bad)


def test_json_path_parsing_and_comparison():
    assert parse_json_path("$.data.items[0].name") == ["data", "items", 0, "name"]
    assert parse_json_path("data.items[0].name") == ["data", "items", 0, "name"]
    assert parse_json_path("$['odd key'][-1]") == ["odd key", -1]
    for bad in ("$", "", "$..x", "a[", "a b", "$.[0"):
        with pytest.raises(ValueError):
            parse_json_path(bad)
    assert json_compare(3, "==", "3")
    assert json_compare("3", "==", "3")
    assert not json_compare(3, "==", "4")
    assert json_compare(10, ">=", 10)
    assert json_compare("hello world", "contains", "world")
    with pytest.raises(ValueError):
        json_compare("abc", "<", "3")
