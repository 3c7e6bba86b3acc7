import asyncio
import time

from monitoring import checks
from monitoring.checks import run_check, run_check_sync
from monitoring.checks.result import CheckResult, invert

from .conftest import run


def test_dispatches_validated_config(http_servers):
    result = run(
        run_check(
            "keyword",
            {"url": f"{http_servers.base}/ok", "keyword": "nominal"},
            allow_private=True,
        )
    )
    assert result.status == "up", result.reason


def test_invalid_config_is_down_naming_the_field():
    result = run(run_check("http", {"url": "gopher://example.com", "interval_s": 5}))
    assert result.status == "down"
    assert result.reason.startswith("invalid configuration: ")
    assert "url: Unsupported scheme 'gopher'" in result.reason
    assert "interval_s: Must be at least 30." in result.reason
    assert result.details["error"] == "invalid_config"


def test_upside_down_inverts_probe_outcomes_only(http_servers):
    failing = run(
        run_check(
            "http",
            {"url": f"{http_servers.base}/status/503", "upside_down": True},
            allow_private=True,
        )
    )
    assert failing.status == "up"
    assert failing.reason.startswith("failing as expected (upside-down): HTTP 503")
    passing = run(
        run_check(
            "http", {"url": f"{http_servers.base}/ok", "upside_down": True}, allow_private=True
        )
    )
    assert passing.status == "down"
    # A target we refused to contact proves nothing: stays down even upside-down.
    refused = run(run_check("tcp", {"host": "10.0.0.5", "port": 22, "upside_down": True}))
    assert refused.status == "down"
    assert refused.reason == "target address 10.0.0.5 is private; not allowed"


def test_invert_keeps_degraded_as_success_of_target():
    assert invert(CheckResult("degraded", "slow")).status == "down"
    assert invert(CheckResult("down", "503")).status == "up"


def test_crash_becomes_down_result(monkeypatch):
    async def broken(**_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setitem(checks._FUNCTIONS, "tcp", broken)
    result = run(run_check("tcp", {"host": "example.com", "port": 80}))
    assert result.status == "down"
    assert result.reason == "check failed unexpectedly: RuntimeError: boom"


def test_hard_deadline_stops_a_hanging_check(monkeypatch):
    async def hangs(**_kwargs):
        await asyncio.sleep(60)

    monkeypatch.setitem(checks._FUNCTIONS, "tcp", hangs)
    monkeypatch.setattr(checks, "DEADLINE_MARGIN_S", 0.2)
    started = time.monotonic()
    result = run(run_check("tcp", {"host": "example.com", "port": 80, "timeout_s": 0.5}))
    assert result.status == "down"
    assert result.reason == "check did not finish within 500 ms (hard deadline)"
    assert time.monotonic() - started < 2


def test_heartbeat_via_registry_and_sync_wrapper(http_servers):
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    late = run_check_sync(
        "heartbeat",
        {"period_s": 300, "grace_s": 60},
        last_ping_at=now - timedelta(minutes=10),
        now=now,
    )
    assert late.status == "down"
    assert late.reason.startswith("no ping for 10 min")
    ok = run_check_sync("http", {"url": f"{http_servers.base}/ok"}, allow_private=True)
    assert ok.status == "up"
