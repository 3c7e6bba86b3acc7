"""Statistics of one check over a window, read from the hourly/daily rollups only.

``monitoring_statistics`` answers any window with at most a few hundred rows, whatever
the number of raw results, and keeps history past the results' retention. The window's
p95 merges the buckets' response-time histograms and asks the database's own quantile
function, so it is the same figure the engine would compute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from monitoring.models import MonitoringCheck, MonitoringStatistic

BUCKET = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
DEFAULT_WINDOW = {"hour": dt.timedelta(hours=24), "day": dt.timedelta(days=30)}
MAX_WINDOW = {"hour": dt.timedelta(days=31), "day": dt.timedelta(days=366)}


def bucket_floor(at: dt.datetime, period: str) -> dt.datetime:
    """The start of the UTC hour or day ``at`` falls in."""
    at = at.astimezone(dt.UTC)
    at = at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0) if period == "day" else at


@dataclass(frozen=True)
class Window:
    period: str
    since: dt.datetime
    until: dt.datetime


def _percent(up: int, degraded: int, total: int) -> float | None:
    return 100.0 * (up + degraded) / total if total else None


def _p95(histogram: list[int]) -> float | None:
    if not any(histogram):
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT monitoring_histogram_quantile(%s::integer[], 0.95)", [histogram])
        return cursor.fetchone()[0]


def _merge(total: list[int], histogram: list[int]) -> list[int]:
    if len(histogram) > len(total):
        total = total + [0] * (len(histogram) - len(total))
    return [a + (histogram[i] if i < len(histogram) else 0) for i, a in enumerate(total)]


def check_statistics(check: MonitoringCheck, window: Window) -> dict[str, Any]:
    """Totals, uptime and every bucket (empty ones included) of ``check`` over ``window``."""
    step = BUCKET[window.period]
    rows = {
        row.bucket_start: row
        for row in MonitoringStatistic.objects.filter(
            monitor=check,
            period=window.period,
            bucket_start__gte=window.since,
            bucket_start__lt=window.until,
        )
    }
    buckets = []
    totals = {"total": 0, "up": 0, "degraded": 0, "down": 0, "count": 0, "sum": 0}
    histogram: list[int] = []
    start = window.since
    while start < window.until:
        row = rows.get(start)
        if row is None:
            buckets.append(
                {
                    "start": start,
                    "total_checks": 0,
                    "up_checks": 0,
                    "degraded_checks": 0,
                    "down_checks": 0,
                    "uptime_percent": None,
                    "avg_response_ms": None,
                    "p95_response_ms": None,
                }
            )
        else:
            buckets.append(
                {
                    "start": start,
                    "total_checks": row.total_checks,
                    "up_checks": row.up_checks,
                    "degraded_checks": row.degraded_checks,
                    "down_checks": row.down_checks,
                    "uptime_percent": row.uptime_percent,
                    "avg_response_ms": row.avg_response_ms,
                    "p95_response_ms": row.p95_response_ms,
                }
            )
            totals["total"] += row.total_checks
            totals["up"] += row.up_checks
            totals["degraded"] += row.degraded_checks
            totals["down"] += row.down_checks
            totals["count"] += row.response_count
            totals["sum"] += row.response_sum_ms
            histogram = _merge(histogram, list(row.response_histogram or []))
        start += step
    return {
        "check": check.pk,
        "period": window.period,
        "since": window.since,
        "until": window.until,
        "total_checks": totals["total"],
        "up_checks": totals["up"],
        "degraded_checks": totals["degraded"],
        "down_checks": totals["down"],
        "uptime_percent": _percent(totals["up"], totals["degraded"], totals["total"]),
        "avg_response_ms": totals["sum"] / totals["count"] if totals["count"] else None,
        "p95_response_ms": _p95(histogram),
        "buckets": buckets,
    }
