"""Builders for monitoring engine tests (real rows, no mocks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from monitoring.checks.result import CheckResult
from monitoring.models import MonitoringCheck, MonitoringLocation


def location(code: str) -> MonitoringLocation:
    return MonitoringLocation.objects.get(code=code)


def make_check(
    organization,
    name: str = "API health",
    *,
    check_type: str = "http",
    config: dict[str, Any] | None = None,
    locations: tuple[str, ...] = ("us-east",),
    **fields: Any,
) -> MonitoringCheck:
    if config is None:
        config = {"url": "http://127.0.0.1:9/health"} if check_type in ("http", "keyword") else {}
    check = MonitoringCheck(
        organization=organization, name=name, check_type=check_type, config=config, **fields
    )
    check.full_clean()
    check.save()
    for code in locations:
        check.locations.add(location(code))
    return check


def result(status: str, reason: str = "", ms: int | None = 20, at: dt.datetime | None = None):
    return CheckResult(
        status,
        reason or f"test says {status}",
        ms,
        {},
        at or dt.datetime.now(dt.UTC),
    )
