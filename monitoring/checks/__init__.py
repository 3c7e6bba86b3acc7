"""Check types of the monitoring app: pure async functions, one run → one CheckResult.

``run_check`` is the entry point for workers: it validates the stored config,
applies the target guard, bounds the run with a deadline and turns every failure
into a readable "down" result, so one bad check can neither crash nor stall a
worker. The per-type functions can be called directly when the config is trusted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.exceptions import ValidationError

from monitoring.checks.config import (
    CHECK_TYPES,
    SCHEDULING_KEYS,
    validate_check_config,
)
from monitoring.checks.dns import check_dns
from monitoring.checks.heartbeat import evaluate_heartbeat
from monitoring.checks.http import check_http
from monitoring.checks.ping import check_ping
from monitoring.checks.result import CheckResult, Status, down, elapsed_ms, format_duration, invert
from monitoring.checks.ssl import check_ssl
from monitoring.checks.tcp import check_tcp

__all__ = [
    "CHECK_TYPES",
    "CheckResult",
    "Status",
    "check_dns",
    "check_http",
    "check_ping",
    "check_ssl",
    "check_tcp",
    "evaluate_heartbeat",
    "invert",
    "run_check",
    "run_check_sync",
    "validate_check_config",
]

logger = logging.getLogger(__name__)

# Extra time beyond the configured timeout before the registry gives up on a check:
# the check's own deadline should fire first and produce the more precise reason.
DEADLINE_MARGIN_S = 2.0

CheckFunction = Callable[..., Awaitable[CheckResult]]
_FUNCTIONS: dict[str, CheckFunction] = {
    "http": check_http,
    "keyword": check_http,
    "ssl": check_ssl,
    "tcp": check_tcp,
    "ping": check_ping,
    "dns": check_dns,
}


def _invalid(exc: ValidationError) -> CheckResult:
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"config": exc.messages}
    text = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in messages.items())
    return down(f"invalid configuration: {text}", error="invalid_config", errors=messages)


async def run_check(check_type: str, config: dict[str, Any], **trusted: Any) -> CheckResult:
    """Run one check of ``check_type`` with a stored (untrusted) ``config``; never raises.

    ``trusted`` carries operator-side arguments that must not come from user config:
    ``allow_private``, ``cafile``, ``client`` (http), and for heartbeats the state
    ``last_ping_at`` / ``now`` / ``created_at`` / ``last_fail_at``.
    """
    try:
        cleaned = validate_check_config(check_type, config)
    except ValidationError as exc:
        return _invalid(exc)
    if check_type == "heartbeat":
        try:
            return evaluate_heartbeat(**cleaned, **trusted)
        except (TypeError, ValueError) as exc:
            return down(f"cannot evaluate heartbeat: {exc}", error="internal_error")

    upside_down = cleaned.get("upside_down", False)
    kwargs = {key: value for key, value in cleaned.items() if key not in SCHEDULING_KEYS}
    kwargs.update(trusted)
    timeout_s = float(kwargs.get("timeout_s", 10))
    start = time.perf_counter()
    try:
        result = await asyncio.wait_for(
            _FUNCTIONS[check_type](**kwargs), timeout=timeout_s + DEADLINE_MARGIN_S
        )
    except TimeoutError:
        result = down(
            f"check did not finish within {format_duration(timeout_s)} (hard deadline)",
            elapsed_ms(start, time.perf_counter()),
        )
    except Exception as exc:
        # Any bug or unexpected library error must become a result, not a dead worker.
        logger.exception("%s check crashed", check_type)
        return down(
            f"check failed unexpectedly: {type(exc).__name__}: {exc}", error="internal_error"
        )
    return invert(result) if upside_down else result


def run_check_sync(check_type: str, config: dict[str, Any], **trusted: Any) -> CheckResult:
    """Blocking wrapper for code without an event loop (a Celery task body)."""
    from monitoring.checks.http import close_shared_clients

    async def _run() -> CheckResult:
        try:
            return await run_check(check_type, config, **trusted)
        finally:
            await close_shared_clients()

    return asyncio.run(_run())
