"""Uptime figures read from the rollups (``monitoring_statistics``), never from raw results.

A 90-day uptime is a sum over at most 90 daily rows per check, whatever the check volume.
Uptime counts ``degraded`` as up (the target answered, slowly), as Pingdom does; days
without any result are unknown (None), not 100 %.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum

from monitoring.models import MonitoringCheck, MonitoringStatistic


@dataclass(frozen=True)
class DayUptime:
    day: dt.date
    total: int
    up: int
    degraded: int
    down: int
    avg_response_ms: float | None
    p95_response_ms: float | None

    @property
    def uptime_percent(self) -> float | None:
        return 100.0 * (self.up + self.degraded) / self.total if self.total else None


def _first_day(days: int, today: dt.date | None) -> tuple[dt.date, dt.date]:
    if days < 1:
        raise ValueError("days must be at least 1")
    last = today or dt.datetime.now(dt.UTC).date()
    return last - dt.timedelta(days=days - 1), last


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def uptime(
    check: MonitoringCheck | str, days: int = 90, *, today: dt.date | None = None
) -> float | None:
    """Percentage of successful runs over the last ``days`` UTC days (today included)."""
    first, _last = _first_day(days, today)
    totals = MonitoringStatistic.objects.filter(
        monitor=check, period=MonitoringStatistic.Period.DAY, bucket_start__gte=_midnight(first)
    ).aggregate(total=Sum("total_checks"), up=Sum("up_checks"), degraded=Sum("degraded_checks"))
    if not totals["total"]:
        return None
    return 100.0 * ((totals["up"] or 0) + (totals["degraded"] or 0)) / totals["total"]


def daily_uptime(
    check: MonitoringCheck | str, days: int = 90, *, today: dt.date | None = None
) -> list[DayUptime]:
    """One entry per UTC day, oldest first, days without results included (total 0)."""
    first, last = _first_day(days, today)
    rows = {
        row.bucket_start.astimezone(dt.UTC).date(): row
        for row in MonitoringStatistic.objects.filter(
            monitor=check,
            period=MonitoringStatistic.Period.DAY,
            bucket_start__gte=_midnight(first),
            bucket_start__lt=_midnight(last + dt.timedelta(days=1)),
        )
    }
    result = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        row = rows.get(day)
        if row is None:
            result.append(DayUptime(day, 0, 0, 0, 0, None, None))
        else:
            result.append(
                DayUptime(
                    day,
                    row.total_checks,
                    row.up_checks,
                    row.degraded_checks,
                    row.down_checks,
                    row.avg_response_ms,
                    row.p95_response_ms,
                )
            )
    return result
