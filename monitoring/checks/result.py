"""The one result shape of every check, so workers, incidents and status pages need no
per-type code."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["up", "degraded", "down"]
STATUSES: tuple[Status, ...] = ("up", "degraded", "down")

# Results carrying one of these in details["error"] say nothing about the target itself
# (we never probed it), so upside-down mode must not turn them into "up".
NOT_A_PROBE_OUTCOME = frozenset({"invalid_config", "target_refused", "internal_error"})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CheckResult:
    """Outcome of one check run.

    ``details`` stays JSON-serialisable (str/int/float/bool/None/list/dict only) so it
    can be stored in a JSONField and shown on the check's page without conversion.
    """

    status: Status
    reason: str
    response_time_ms: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    @property
    def is_up(self) -> bool:
        return self.status == "up"

    @property
    def is_down(self) -> bool:
        return self.status == "down"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for storage / Celery results (datetime as ISO 8601)."""
        data = dataclasses.asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        return data


def up(reason: str, response_time_ms: int | None = None, **details: Any) -> CheckResult:
    return CheckResult("up", reason, response_time_ms, details)


def degraded(reason: str, response_time_ms: int | None = None, **details: Any) -> CheckResult:
    return CheckResult("degraded", reason, response_time_ms, details)


def down(reason: str, response_time_ms: int | None = None, **details: Any) -> CheckResult:
    return CheckResult("down", reason, response_time_ms, details)


def invert(result: CheckResult) -> CheckResult:
    """Apply "upside-down" mode: the check passes only when the target fails.

    Used for things that must stay unreachable (an admin port, a retired URL). A
    degraded result means the target answered, so it counts as a success of the
    target and therefore a failure here. Results that never reached the target
    (refused by the target guard, invalid config) stay down: they prove nothing.
    """
    if result.details.get("error") in NOT_A_PROBE_OUTCOME:
        return result
    details = {**result.details, "upside_down": True, "original_status": result.status}
    if result.status == "down":
        status: Status = "up"
        reason = f"failing as expected (upside-down): {result.reason}"
    else:
        status = "down"
        reason = f"expected a failure (upside-down) but check passed: {result.reason}"
    return CheckResult(status, reason, result.response_time_ms, details, result.checked_at)


def format_duration(seconds: float) -> str:
    """Human duration for reasons: '850 ms', '1.2 s', '7 min', '1 h 5 min', '3 days'."""
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {secs} s" if secs and minutes < 10 else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days = hours // 24
    return f"{days} days"


def elapsed_ms(start: float, end: float) -> int:
    """Milliseconds between two ``time.perf_counter()`` readings, at least 0."""
    return max(0, round((end - start) * 1000))
