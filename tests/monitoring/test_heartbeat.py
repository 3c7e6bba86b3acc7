from datetime import UTC, datetime, timedelta

import pytest

from monitoring.checks.heartbeat import evaluate_heartbeat

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def beat(minutes_ago: float | None, **kwargs):
    last = NOW - timedelta(minutes=minutes_ago) if minutes_ago is not None else None
    return evaluate_heartbeat(last_ping_at=last, period_s=300, grace_s=60, now=NOW, **kwargs)


def test_on_time():
    result = beat(2)
    assert result.status == "up"
    assert result.details["late"] is False
    assert result.reason == "last ping 2 min ago (expected every 5 min + 1 min grace)"
    assert result.details["next_due_at"] == (NOW + timedelta(minutes=3)).isoformat()


def test_late_but_within_grace_stays_up_and_says_late():
    result = beat(5.5)
    assert result.status == "up"
    assert result.details["late"] is True
    assert result.reason.startswith("late: last ping 5 min 30 s ago")
    assert "down in 30 s" in result.reason


def test_missed():
    result = beat(7)
    assert result.status == "down"
    assert result.reason == "no ping for 7 min (expected every 5 min + 1 min grace)"
    assert result.details["down_at"] == (NOW - timedelta(minutes=1)).isoformat()


def test_exact_boundary_is_down():
    assert beat(6).status == "down"
    assert beat(5.99).status == "up"


def test_never_pinged_uses_creation_time():
    assert beat(None).status == "up"  # unknown start: cannot be late yet
    fresh = beat(None, created_at=NOW - timedelta(minutes=3))
    assert fresh.status == "up" and "waiting for the first ping" in fresh.reason
    stale = beat(None, created_at=NOW - timedelta(hours=2))
    assert stale.status == "down"
    assert stale.reason.startswith("no ping received in 2 h")


def test_fail_signal_newer_than_ping_is_down():
    result = beat(1, last_fail_at=NOW - timedelta(seconds=30))
    assert result.status == "down"
    assert result.reason == "job reported failure 30 s ago"
    older_failure = beat(1, last_fail_at=NOW - timedelta(minutes=10))
    assert older_failure.status == "up"


def test_rejects_nonsense_periods():
    with pytest.raises(ValueError):
        evaluate_heartbeat(last_ping_at=NOW, period_s=0, grace_s=0, now=NOW)
