"""Page views per page per day, without a database write per view.

Views are counted in process memory and pushed to Redis at most every
``STATUSPAGES_VIEW_COUNT_SECONDS`` (default 1 s; 0 pushes every view) as ``HINCRBY`` on a
hash per day (``statuspages:views:<date>``, field = page id); a worker that dies loses at
most that second of counts (the rest is pushed when the process exits). :func:`flush`
(beat, every minute) renames each day's hash out of the way — atomically, so increments
arriving meanwhile go to a fresh hash — and adds its counts to ``status_page_analytics``
in one upsert. A crash between the rename and the upsert is retried from the renamed key
on the next run.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
import uuid
from collections import Counter

import redis
from django.conf import settings
from django.db import connection, transaction

log = logging.getLogger(__name__)

PREFIX = "statuspages:views:"
FLUSHING = "statuspages:flushing:"
_client: redis.Redis | None = None


def client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
    return _client


_pending: Counter = Counter()
_pending_lock = threading.Lock()
_last_push = 0.0


def count_view(page_id: uuid.UUID | str) -> None:
    """Count one view; never fails the request (analytics are not worth an error page)."""
    global _last_push
    day = dt.datetime.now(dt.UTC).date().isoformat()
    interval = getattr(settings, "STATUSPAGES_VIEW_COUNT_SECONDS", 1.0)
    with _pending_lock:
        _pending[day, str(page_id)] += 1
        now = time.monotonic()
        if now - _last_push < interval:
            return
        _last_push = now
        batch = dict(_pending)
        _pending.clear()
    push(batch)


@atexit.register
def _push_pending() -> None:
    with _pending_lock:
        batch = dict(_pending)
        _pending.clear()
    if batch:
        push(batch)


def push(batch: dict[tuple[str, str], int]) -> None:
    """Add counted views to the Redis hashes (one pipelined round trip)."""
    try:
        pipe = client().pipeline(transaction=False)
        for (day, page_id), views in batch.items():
            pipe.hincrby(f"{PREFIX}{day}", page_id, views)
        pipe.execute()
    except redis.RedisError:
        log.warning("Could not count status page views", exc_info=True)


def flush() -> int:
    """Move counters into ``status_page_analytics`` (system path); returns views moved."""
    r = client()
    moved = 0
    for key in [*r.scan_iter(f"{PREFIX}*"), *r.scan_iter(f"{FLUSHING}*")]:
        key = key.decode()
        if key.startswith(PREFIX):
            day = key.removeprefix(PREFIX)
            pending = f"{FLUSHING}{day}:{uuid.uuid4().hex}"
            try:
                r.rename(key, pending)
            except redis.ResponseError:
                continue  # gone since the scan
        else:
            pending, day = key, key.removeprefix(FLUSHING).split(":")[0]
        counts = {k.decode(): int(v) for k, v in r.hgetall(pending).items()}
        if counts:
            moved += _store(dt.date.fromisoformat(day), counts)
        r.delete(pending)
    return moved


def _store(day: dt.date, counts: dict[str, int]) -> int:
    ids, views = list(counts), [counts[k] for k in counts]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO status_page_analytics (organization_id, status_page_id, date, page_views)
            SELECT p.organization_id, p.id, %s, c.views
            FROM unnest(%s::uuid[], %s::bigint[]) AS c(page_id, views)
            JOIN status_pages p ON p.id = c.page_id
            ON CONFLICT (status_page_id, date) DO UPDATE
                SET page_views = status_page_analytics.page_views + EXCLUDED.page_views,
                    updated_at = now()
            """,
            [day, ids, views],
        )
    return sum(views)
