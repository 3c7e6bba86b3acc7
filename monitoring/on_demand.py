"""How often a check may be run on demand ("run now"), across every web process.

A scheduled check runs at most every ``MIN_INTERVAL_S`` from each location; "run now"
runs one on top of that, and the API's does so inside the request. Without a limit of its
own, a read-write key could make the server probe a host as fast as the per-key request
rate allows, and changing the check's target between runs, or spreading runs over many
checks, would make that any host. So an on-demand run needs both

* the check's cooldown: one run per check per ``COOLDOWN_S``, whatever its target
  is now (the key is the check's id, so editing the URL does not reset it); and
* the organization's budget: ``ORGANIZATION_RUNS`` per ``ORGANIZATION_WINDOW_S`` over all
  its checks, which bounds what creating (or recreating) checks can add.

Both are claimed in one Redis script before the check runs, so concurrent requests cannot
both pass. The cooldown key is the one the responder UI's "run now" takes with
``cache.add`` (``monitor-run-now:<check id>`` in Django's cache, which is this Redis), so
a run from either door holds off the other. If Redis is unreachable the run is refused
(:class:`RunNowUnavailable`): the limit is what keeps "run now" from being a probe
cannon, and scheduled checks go on regardless.
"""

from __future__ import annotations

import math
from typing import Any

import redis
from django.core.cache import cache

from alert24 import redis_clients
from monitoring.models import MonitoringCheck

COOLDOWN_S = 30
ORGANIZATION_RUNS = 20
ORGANIZATION_WINDOW_S = 60

# KEYS: the check's cooldown, the organization's window counter.
# ARGV: cooldown ms, organization budget, window ms.
# Returns {0, 0} when granted, {1, wait ms} for the check, {2, wait ms} for the organization.
_CLAIM_SCRIPT = """
local wait = redis.call('PTTL', KEYS[1])
if wait > 0 then return {1, wait} end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[2])
  if left < 0 then left = tonumber(ARGV[3]) end
  return {2, left}
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return {0, 0}
"""


class RunNowRefused(Exception):
    """The run was not started; ``retry_after`` seconds from now it may be."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunNowTooSoon(RunNowRefused):
    """The check's cooldown or the organization's budget is spent."""


class RunNowUnavailable(RunNowRefused):
    """Redis cannot be asked, so the limit cannot be applied."""


def cooldown_key(check_id: object) -> str:
    """The Redis key of a check's cooldown (the UI's ``cache.add`` key, fully qualified)."""
    return cache.make_key(f"monitor-run-now:{check_id}")


def claim_run_now(check: MonitoringCheck) -> None:
    """Take the check's on-demand run, or raise :class:`RunNowRefused` saying when to retry.

    Call it just before running the check (after anything that could still refuse the
    run), so a refused request costs nothing and a granted one is counted once.
    """
    org_key = f"alert24:run-now:organization:{check.organization_id}"
    try:
        outcome, wait_ms = _claim_script()(
            keys=[cooldown_key(check.pk), org_key],
            args=[COOLDOWN_S * 1000, ORGANIZATION_RUNS, ORGANIZATION_WINDOW_S * 1000],
        )
    except redis.RedisError:
        raise RunNowUnavailable(
            "Run now is unavailable for a moment (its rate limit cannot be checked); "
            "the check keeps running on its schedule.",
            5,
        ) from None
    if outcome == 0:
        return
    wait = max(1, math.ceil(int(wait_ms) / 1000))
    if outcome == 1:
        message = f"This check may be run on demand once every {COOLDOWN_S} seconds."
    else:
        message = (
            f"This organization may run checks on demand {ORGANIZATION_RUNS} times "
            f"every {ORGANIZATION_WINDOW_S} seconds."
        )
    raise RunNowTooSoon(message, wait)


def _claim_script() -> Any:
    return redis_clients.script(_CLAIM_SCRIPT, timeout=0.5)
