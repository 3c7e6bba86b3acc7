"""Maintenance windows start and complete on schedule; monitoring can ask about them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from statuspages import services
from statuspages.models import MaintenanceWindow

from .conftest import statuses


def test_auto_start_and_auto_complete(setup_a):
    s = setup_a
    now = timezone.now()
    window = services.schedule_maintenance(
        s.page,
        name="DB upgrade",
        scheduled_start=now - dt.timedelta(hours=1),
        scheduled_end=now + dt.timedelta(hours=1),
        components=[s.db, s.api],
    )
    assert window.status == "scheduled"
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_maintenance_windows()")  # verbatim, as beat/psql do
        assert cursor.fetchone()[0] == 1
    window.refresh_from_db()
    assert window.status == "in_progress" and window.started_at is not None
    assert statuses(s.db, s.api, s.web) == ["under_maintenance", "under_maintenance", "operational"]
    assert services.process_maintenance_windows() == 0  # nothing more to do

    MaintenanceWindow.objects.filter(pk=window.pk).update(
        scheduled_end=window.scheduled_start + dt.timedelta(minutes=1)
    )
    assert services.process_maintenance_windows() == 1
    window.refresh_from_db()
    assert window.status == "completed" and window.completed_at is not None
    assert statuses(s.db, s.api) == ["operational", "operational"]


def test_future_window_does_not_start_and_manual_windows_wait(setup_a):
    now = timezone.now()
    future = services.schedule_maintenance(
        setup_a.page,
        name="Later",
        scheduled_start=now + dt.timedelta(days=1),
        scheduled_end=now + dt.timedelta(days=1, hours=1),
        components=[setup_a.db],
    )
    manual = services.schedule_maintenance(
        setup_a.page,
        name="Manual",
        scheduled_start=now - dt.timedelta(hours=1),
        scheduled_end=now + dt.timedelta(hours=1),
        components=[setup_a.api],
        auto_start=False,
    )
    assert services.process_maintenance_windows() == 0
    future.refresh_from_db()
    manual.refresh_from_db()
    assert (future.status, manual.status) == ("scheduled", "scheduled")


def test_components_in_maintenance_for_component_and_check(setup_a):
    import uuid

    s = setup_a
    check_id = uuid.uuid4()
    type(s.db).objects.filter(pk=s.db.pk).update(monitoring_check_id=check_id)
    now = timezone.now()
    window = services.schedule_maintenance(
        s.page,
        name="Window",
        scheduled_start=now + dt.timedelta(hours=1),
        scheduled_end=now + dt.timedelta(hours=2),
        components=[s.db],
    )
    assert services.components_in_maintenance(s.db) == []
    assert services.components_in_maintenance(s.db, at=now + dt.timedelta(minutes=90)) == [s.db]
    assert services.components_in_maintenance(check_id, at=now + dt.timedelta(minutes=90)) == [s.db]
    assert services.components_in_maintenance(uuid.uuid4()) == []
    services.set_maintenance_status(window, "in_progress")
    assert services.components_in_maintenance(check_id) == [s.db]
    with connection.cursor() as cursor:
        cursor.execute("SELECT component_in_maintenance(%s, now())", [s.db.pk])
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT monitoring_check_in_maintenance(%s)", [check_id])
        assert cursor.fetchone()[0] is True


def test_window_ending_before_it_starts_is_refused_and_nothing_written(setup_a):
    now = timezone.now()
    with pytest.raises(ValidationError, match="must end after it starts"):
        services.schedule_maintenance(
            setup_a.page,
            name="Backwards",
            scheduled_start=now,
            scheduled_end=now - dt.timedelta(hours=1),
            components=[setup_a.db],
        )
    assert not MaintenanceWindow.objects.exists()


def test_scheduled_notice_is_queued_at_commit(setup_a):
    from statuspages.models import Subscriber, SubscriberNotification

    s = setup_a
    Subscriber.objects.create(
        organization=s.organization, status_page=s.page, channel="email",
        target="x@example.com", confirmed_at=timezone.now(),
    )  # fmt: skip
    now = timezone.now()
    window = services.schedule_maintenance(
        s.page,
        name="Soon",
        scheduled_start=now + dt.timedelta(hours=1),
        scheduled_end=now + dt.timedelta(hours=2),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does
    assert (
        SubscriberNotification.objects.filter(
            maintenance_window=window, event="maintenance_scheduled"
        ).count()
        == 1
    )
    services.set_maintenance_status(window, "in_progress")
    services.set_maintenance_status(window, "completed")
    events = set(
        SubscriberNotification.objects.filter(maintenance_window=window).values_list(
            "event", flat=True
        )
    )
    assert events == {"maintenance_scheduled", "maintenance_in_progress", "maintenance_completed"}
