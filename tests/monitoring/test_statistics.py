"""Rollups: incremental buckets equal a recomputation from raw results; uptime reads them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from monitoring.engine import record_results
from monitoring.models import CheckResult, MonitoringStatistic
from monitoring.statistics import daily_uptime, uptime

from .factories import location, make_check, result

TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    return TODAY - dt.timedelta(days=days_ago) + dt.timedelta(hours=hour, minutes=minute)


@pytest.fixture
def check(org_a):
    return make_check(org_a, locations=("us-east", "eu-west"))


def feed_history(check) -> None:
    east, west = location("us-east").pk, location("eu-west").pk
    batches = [
        # yesterday 10:00-10:59: 3 up, 1 down; 11:00: 1 degraded
        [
            (check.pk, east, result("up", ms=100, at=at(1, 10, 1))),
            (check.pk, west, result("up", ms=200, at=at(1, 10, 2))),
        ],
        [(check.pk, east, result("up", ms=300, at=at(1, 10, 30)))],
        [(check.pk, west, result("down", ms=None, at=at(1, 10, 59)))],
        [(check.pk, east, result("degraded", ms=4000, at=at(1, 11, 5)))],
        # two days ago: all down; today: all up
        [(check.pk, east, result("down", ms=None, at=at(2, 3)))],
        [(check.pk, east, result("up", ms=50, at=at(0, 0, 1)))],
    ]
    for batch in batches:
        record_results(batch)


def buckets() -> dict:
    return {
        (s.monitor_id, s.period, s.bucket_start): (
            s.total_checks,
            s.up_checks,
            s.degraded_checks,
            s.down_checks,
            s.response_count,
            s.response_sum_ms,
            tuple(s.response_histogram),
            round(s.avg_response_ms, 6) if s.avg_response_ms is not None else None,
            round(s.p95_response_ms, 6) if s.p95_response_ms is not None else None,
        )
        for s in MonitoringStatistic.objects.all()
    }


def test_incremental_buckets(check):
    feed_history(check)
    hour = MonitoringStatistic.objects.get(monitor=check, period="hour", bucket_start=at(1, 10))
    assert (hour.total_checks, hour.up_checks, hour.down_checks) == (4, 3, 1)
    assert hour.response_count == 3 and hour.avg_response_ms == 200.0
    assert 250 <= hour.p95_response_ms <= 400  # histogram estimate around the 300 ms sample
    day = MonitoringStatistic.objects.get(monitor=check, period="day", bucket_start=at(1, 0))
    assert (day.total_checks, day.up_checks, day.degraded_checks, day.down_checks) == (5, 3, 1, 1)
    assert day.organization_id == check.organization_id
    assert sum(day.response_histogram) == 4


def test_refresh_recomputes_the_same_numbers_and_is_idempotent(check):
    feed_history(check)
    incremental = buckets()
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_statistics(now() - interval '3 days')")
        written = cursor.fetchone()[0]
    assert written == len(incremental)
    assert buckets() == incremental
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_statistics()")  # the seed's verbatim call
        cursor.execute("SELECT refresh_monitoring_statistics(now() - interval '3 days')")
    assert buckets() == incremental


def test_refresh_repairs_a_damaged_bucket(check):
    feed_history(check)
    incremental = buckets()
    MonitoringStatistic.objects.filter(period="day").update(
        total_checks=999, up_checks=999, degraded_checks=0, down_checks=0
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_statistics(now() - interval '3 days')")
    assert buckets() == incremental


def test_uptime_and_daily_uptime_read_the_rollups(check):
    feed_history(check)
    # 7 results over three days: 3 up + 1 degraded + 1 up today = 5 ok, 2 down.
    assert uptime(check, days=90) == pytest.approx(100 * 5 / 7)
    assert uptime(check, days=1) == 100.0
    CheckResult.objects.all().delete()  # raw results are not read
    assert uptime(check, days=2) == pytest.approx(100 * 5 / 6)
    days = daily_uptime(check, days=4)
    assert [d.day for d in days] == [(TODAY - dt.timedelta(days=n)).date() for n in (3, 2, 1, 0)]
    assert [d.uptime_percent for d in days] == [None, 0.0, 80.0, 100.0]
    assert days[2].p95_response_ms is not None


def test_uptime_without_results_is_unknown(check):
    assert uptime(check) is None
    assert all(d.uptime_percent is None for d in daily_uptime(check, days=90))
    with pytest.raises(ValueError, match="at least 1"):
        uptime(check, days=0)


def test_histogram_quantile_is_close_to_the_exact_one(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT monitoring_histogram_quantile(monitoring_histogram(array_agg(g)), 0.95),"
            " percentile_cont(0.95) WITHIN GROUP (ORDER BY g)"
            " FROM generate_series(1, 1000) g"
        )
        estimate, exact = cursor.fetchone()
        assert abs(estimate - exact) / exact < 0.1
        cursor.execute(
            "SELECT monitoring_histogram_add('{1,2,3}', '{10,20,30}'),"
            " monitoring_histogram_add('{}', monitoring_histogram('{7}'))"
            "   = monitoring_histogram('{7}'),"
            " monitoring_histogram_quantile(monitoring_histogram('{}'), 0.95)"
        )
        assert cursor.fetchone() == ([11, 22, 33], True, None)


def test_cleanup_removes_old_results_only(check):
    """Retention is cleanup_old_data()'s: old results go, recent ones and the rollups stay."""
    east = location("us-east").pk
    record_results(
        [
            (check.pk, east, result("up", at=TODAY - dt.timedelta(days=40))),
            (check.pk, east, result("up", at=TODAY - dt.timedelta(days=5))),
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, deleted FROM cleanup_old_data(30)")
        assert dict(cursor.fetchall())["check_results"] == 1
        cursor.execute("SELECT table_name, deleted FROM cleanup_old_data()")
        assert dict(cursor.fetchall())["check_results"] == 0
        cursor.execute("SELECT to_regprocedure('cleanup_old_check_results(integer)')")
        assert cursor.fetchone()[0] is None  # one retention path
    assert CheckResult.objects.count() == 1
    assert MonitoringStatistic.objects.filter(period="day").count() == 2  # rollups stay
    # The refresh never reaches back past retention, so the 40-day-old bucket survives it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_monitoring_statistics(now() - interval '60 days')")
    assert MonitoringStatistic.objects.filter(period="day").count() == 2
