"""Builders for monitoring engine tests (real rows, no mocks)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from monitoring.checks.result import CheckResult
from monitoring.models import MonitoringCheck, MonitoringLocation

SEEDED = {"us-east": "US East", "eu-west": "EU West", "ap-south": "Asia Pacific South"}


def location(code: str) -> MonitoringLocation:
    """A seeded location; re-seeded if a transactional test flushed the tables."""
    found, _ = MonitoringLocation.objects.get_or_create(
        code=code, defaults={"name": SEEDED.get(code, code), "queue": f"checks.{code}"}
    )
    return found


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


def check_form(**fields) -> dict:
    """What the check admin's add/change form posts, with ``fields`` changed."""
    data = {
        "name": "Homepage",
        "check_type": "keyword",
        "config": '{"url": "https://example.com", "keyword": "Example"}',
        "interval_seconds": 60,
        "timeout_seconds": 5,
        "failure_threshold": 2,
        "recovery_threshold": 1,
        "severity": "high",
        "schedules-TOTAL_FORMS": 0,
        "schedules-INITIAL_FORMS": 0,
    }
    data.update(fields)
    return data
