"""Redis clients for the code that talks to Redis directly on a hot path (rate limits,
run-now claims, escalation kicks): one per ``REDIS_URL`` and socket timeout, made on first
use and shared by the threads of a process, with their Lua scripts registered once.

Looked up by the current ``REDIS_URL`` on every call, so a changed setting (tests point it
at a dead port) gets a client of its own.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.conf import settings

_lock = threading.Lock()
_clients: dict[tuple[str, float], redis.Redis] = {}
_scripts: dict[tuple[str, float, str], Any] = {}


def client(timeout: float) -> redis.Redis:
    """The shared client whose connects and commands give up after ``timeout`` seconds."""
    key = (settings.REDIS_URL, timeout)
    with _lock:
        if key not in _clients:
            _clients[key] = redis.Redis.from_url(
                key[0], socket_timeout=timeout, socket_connect_timeout=timeout
            )
        return _clients[key]


def script(source: str, timeout: float) -> Any:
    """``source`` registered on :func:`client` (EVALSHA, loaded again if Redis forgot it)."""
    key = (settings.REDIS_URL, timeout, source)
    with _lock:
        found = _scripts.get(key)
    if found is None:
        found = client(timeout).register_script(source)
        with _lock:
            found = _scripts.setdefault(key, found)
    return found
