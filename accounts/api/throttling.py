"""Rate limits in Redis, fixed one-minute windows, shared by every web process.

One pipeline round trip per request (``SET NX EX`` + ``INCR``). Redis is a convenience
here, not a dependency: if it is down the limit is skipped (fail open) for a few seconds
before trying again, because an outage of the broker must never stop events being
ingested or the API answering.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from accounts.api.authentication import ApiKeyPrincipal
from alert24 import redis_clients

log = logging.getLogger(__name__)

_RETRY_REDIS_AFTER = 5.0
_down_until = 0.0

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/min"`` → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


def _redis() -> redis.Redis:
    return redis_clients.client(timeout=0.25)


def hit(scope: str, ident: str, rate: str) -> float | None:
    """Count one request; None if allowed, else seconds until the window reopens."""
    global _down_until
    limit, period = parse_rate(rate)
    now = time.time()
    if now < _down_until:
        return None
    window = int(now // period)
    key = f"alert24:throttle:{scope}:{ident}:{window}"
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.set(key, 0, ex=period + 1, nx=True)
        pipe.incr(key)
        count = pipe.execute()[1]
    except redis.RedisError:
        _down_until = now + _RETRY_REDIS_AFTER
        log.warning("rate limiting skipped: Redis is unreachable", exc_info=True)
        return None
    if count <= limit:
        return None
    return max(1.0, (window + 1) * period - now)


class ApiKeyRateThrottle(BaseThrottle):
    """Per API key (or per signed-in user), rate ``DEFAULT_THROTTLE_RATES["api"]``."""

    scope = "api"

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        if isinstance(request.auth, ApiKeyPrincipal):
            ident = f"key:{request.auth.key_id}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        self._wait = hit(self.scope, ident, rate)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
