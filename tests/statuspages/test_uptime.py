"""calculate_all_component_uptime(): weights, idempotence, empty database, NULLs."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from statuspages import services
from statuspages.models import Component, ComponentStatusHistory, UptimeCalculation

from .conftest import age_page


def _history(component, day: dt.date, changes: list[tuple[int, str]]) -> None:
    """Replace the component's history with ``changes`` (minutes into ``day``, UTC)."""
    ComponentStatusHistory.objects.filter(component=component).delete()
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    Component.objects.filter(pk=component.pk).update(created_at=start - dt.timedelta(days=2))
    ComponentStatusHistory.objects.bulk_create(
        ComponentStatusHistory(
            organization_id=component.organization_id,
            component=component,
            status_page_id=component.status_page_id,
            new_status=status,
            changed_at=start + dt.timedelta(minutes=minutes),
        )
        for minutes, status in [(-2 * 24 * 60, "operational"), *changes]
    )


def test_weights_major_partial_degraded_maintenance(setup_a):
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    _history(
        setup_a.api,
        yesterday,
        [
            (0, "major_outage"),  # 1 h counts fully
            (60, "partial_outage"),  # 2 h at 0.3
            (180, "degraded_performance"),  # 3 h not downtime
            (360, "under_maintenance"),  # 4 h out of the denominator
            (600, "operational"),
        ],
    )
    assert services.calculate_uptime() > 0
    day = UptimeCalculation.objects.get(component=setup_a.api, date=yesterday)
    assert day.total_seconds == 86400
    assert day.maintenance_seconds == 4 * 3600
    assert day.counted_seconds == 86400 - 4 * 3600
    assert day.major_outage_seconds == 3600
    assert day.partial_outage_seconds == 7200
    assert day.degraded_seconds == 3 * 3600
    assert day.downtime_seconds == Decimal("5760.00")  # 3600 + 0.3 * 7200
    assert day.uptime_percentage == Decimal("92.0000")  # 1 - 5760 / 72000
    # The day before had no trouble; days before the component existed have no row.
    before = UptimeCalculation.objects.get(component=setup_a.api, date=yesterday - dt.timedelta(1))
    assert before.uptime_percentage == 100
    assert not UptimeCalculation.objects.filter(
        component=setup_a.api, date__lt=yesterday - dt.timedelta(days=2)
    ).exists()


def test_all_maintenance_day_is_100_percent(setup_a):
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    _history(setup_a.db, yesterday, [(0, "under_maintenance"), (24 * 60, "operational")])
    services.calculate_uptime()
    day = UptimeCalculation.objects.get(component=setup_a.db, date=yesterday)
    assert day.uptime_percentage == 100 and day.counted_seconds == 0


def test_idempotent_verbatim_and_bumps_version_only_on_change(setup_a):
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    _history(setup_a.api, yesterday, [(0, "major_outage"), (30, "operational")])
    with connection.cursor() as cursor:
        cursor.execute("SELECT calculate_all_component_uptime()")
        first = cursor.fetchone()[0]
        version = type(setup_a.page).objects.get(pk=setup_a.page.pk).content_version
        rows = UptimeCalculation.objects.count()
        cursor.execute("SELECT calculate_all_component_uptime()")
        assert cursor.fetchone()[0] == 0
    assert first > 0
    assert UptimeCalculation.objects.count() == rows
    assert type(setup_a.page).objects.get(pk=setup_a.page.pk).content_version == version


def test_empty_database_and_nulls(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT calculate_all_component_uptime()")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT calculate_all_component_uptime(NULL, NULL)")
        assert cursor.fetchone()[0] == 0


def test_component_without_history_uses_current_status(setup_a):
    ComponentStatusHistory.objects.filter(component=setup_a.db).delete()
    Component.objects.filter(pk=setup_a.db.pk).update(
        status="partial_outage", created_at=timezone.now() - dt.timedelta(days=5)
    )
    ComponentStatusHistory.objects.filter(component=setup_a.db).delete()  # the trigger's row
    services.calculate_uptime(days=3)
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    day = UptimeCalculation.objects.get(component=setup_a.db, date=yesterday)
    assert day.uptime_percentage == 70  # partial outage all day: 0.3 weight


def test_incident_count_per_day(setup_a):
    from statuspages.services import publish_incident

    age_page(setup_a)
    publish_incident(None, setup_a.page, name="Oops", message="Looking", components=[setup_a.api])
    services.calculate_uptime(days=2)
    today = UptimeCalculation.objects.get(component=setup_a.api, date=timezone.now().date())
    assert today.incident_count == 1
