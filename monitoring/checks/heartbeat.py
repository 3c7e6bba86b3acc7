"""Heartbeat (cron / dead-man's-switch) check, the Healthchecks.io model, without I/O.

The job pings us; silence is the failure. Kept pure so the scheduler can evaluate
thousands of heartbeats from database rows without a network round trip, and so
the arithmetic is testable with fixed clocks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitoring.checks.result import CheckResult, format_duration


def _period_text(period_s: float, grace_s: float) -> str:
    text = f"expected every {format_duration(period_s)}"
    return f"{text} + {format_duration(grace_s)} grace" if grace_s else text


def evaluate_heartbeat(
    *,
    last_ping_at: datetime | None,
    period_s: float,
    grace_s: float,
    now: datetime | None = None,
    created_at: datetime | None = None,
    last_fail_at: datetime | None = None,
) -> CheckResult:
    """Up while pings keep arriving, down once ``period_s + grace_s`` pass without one.

    A ping that is late but still inside the grace window stays up with
    ``details["late"]`` set, as Healthchecks.io does: grace exists so that normal
    jitter does not alert. A "fail" signal newer than the last ping (the job
    reporting its own failure) is down at once. With no ping ever, the clock
    starts at ``created_at`` (if unknown, we cannot say it is late).
    """
    if period_s <= 0 or grace_s < 0:
        raise ValueError("period_s must be positive and grace_s not negative")
    now = now or datetime.now(UTC)
    expectation = _period_text(period_s, grace_s)
    details: dict[str, object] = {"period_s": period_s, "grace_s": grace_s}

    if last_fail_at is not None and (last_ping_at is None or last_fail_at >= last_ping_at):
        ago = format_duration(max(0.0, (now - last_fail_at).total_seconds()))
        details["last_fail_at"] = last_fail_at.isoformat()
        return CheckResult("down", f"job reported failure {ago} ago", None, details, now)

    reference = last_ping_at or created_at
    if reference is None:
        return CheckResult("up", f"waiting for the first ping ({expectation})", None, details, now)
    due_at = reference + timedelta(seconds=period_s)
    down_at = due_at + timedelta(seconds=grace_s)
    silent_s = max(0.0, (now - reference).total_seconds())
    details.update(
        last_ping_at=last_ping_at.isoformat() if last_ping_at else None,
        next_due_at=due_at.isoformat(),
        down_at=down_at.isoformat(),
        seconds_since_ping=round(silent_s),
        late=now > due_at,
    )
    since = format_duration(silent_s)
    if now >= down_at:
        what = f"no ping for {since}" if last_ping_at else f"no ping received in {since}"
        return CheckResult("down", f"{what} ({expectation})", None, details, now)
    if now > due_at:
        left = format_duration((down_at - now).total_seconds())
        return CheckResult(
            "up", f"late: last ping {since} ago ({expectation}; down in {left})", None, details, now
        )
    if last_ping_at is None:
        return CheckResult("up", f"waiting for the first ping ({expectation})", None, details, now)
    return CheckResult("up", f"last ping {since} ago ({expectation})", None, details, now)
