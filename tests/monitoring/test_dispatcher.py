"""Scheduling: claim_due_checks keeps each check's phase, skips paused checks; batches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from monitoring import engine
from monitoring.models import CheckSchedule, MonitoringCheck

from .factories import location, make_check


def set_next_run(check, seconds_from_now: float, code: str = "us-east") -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE check_schedules SET next_run_at = now() + make_interval(secs => %s)"
            " WHERE check_id = %s AND location_id = %s RETURNING next_run_at",
            [seconds_from_now, check.pk, location(code).pk],
        )
        return cursor.fetchone()[0]


def claim(horizon_s: float = 0.0) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT check_id, location_id, queue, scheduled_at, interval_seconds"
            " FROM claim_due_checks(1000, %s)",
            [horizon_s],
        )
        return cursor.fetchall()


def next_run(check, code: str = "us-east") -> dt.datetime:
    return CheckSchedule.objects.get(monitor=check, location__code=code).next_run_at


@pytest.fixture
def check(org_a):
    return make_check(org_a, interval_seconds=60)


def test_new_schedule_starts_within_one_interval(check):
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        now = cursor.fetchone()[0]
    assert now <= next_run(check) < now + dt.timedelta(seconds=60)


def test_claim_keeps_the_phase(check):
    previous = set_next_run(check, -2.5)
    ((check_id, location_id, queue, scheduled_at, interval),) = claim()
    assert (check_id, location_id, queue, interval) == (
        check.pk,
        location("us-east").pk,
        "checks.us-east",
        60,
    )
    assert scheduled_at == previous
    assert next_run(check) == previous + dt.timedelta(seconds=60)  # not now() + 60
    assert claim() == []  # claimed once


def test_missed_slots_run_once_at_the_latest_slot(check):
    previous = set_next_run(check, -150)  # beat was down for two and a half intervals
    ((*_, scheduled_at, _interval),) = claim()
    assert scheduled_at == previous + dt.timedelta(seconds=120)
    assert next_run(check) == previous + dt.timedelta(seconds=180)
    assert claim() == []


def test_horizon_claims_a_little_ahead(check):
    upcoming = set_next_run(check, 2)
    assert claim(horizon_s=0) == []
    ((*_, scheduled_at, _interval),) = claim(horizon_s=3)
    assert scheduled_at == upcoming  # the worker waits for this exact time


def test_paused_checks_advance_but_are_not_dispatched(check):
    previous = set_next_run(check, -1)
    MonitoringCheck.objects.filter(pk=check.pk).update(is_paused=True)
    assert claim() == []
    assert next_run(check) == previous + dt.timedelta(seconds=60)


def test_inactive_location_is_not_dispatched(check):
    set_next_run(check, -1)
    location("us-east").__class__.objects.filter(code="us-east").update(is_active=False)
    assert claim() == []


def test_each_location_has_its_own_schedule(org_a):
    check = make_check(org_a, locations=("us-east", "eu-west"))
    set_next_run(check, -1, "us-east")
    set_next_run(check, -1, "eu-west")
    assert {row[2] for row in claim()} == {"checks.us-east", "checks.eu-west"}


def test_dispatch_sends_batches_per_location_and_second(org_a, monkeypatch):
    sent = []
    monkeypatch.setattr(
        engine,
        "_send",
        lambda queue, location_id, items, eta=None, producer=None: sent.append(
            (queue, location_id, items, eta)
        ),
    )
    checks = [
        make_check(org_a, f"c{n}", locations=("us-east", "eu-west"), interval_seconds=60)
        for n in range(5)
    ]
    for check in checks:
        set_next_run(check, -1, "us-east")
        set_next_run(check, 1.5, "eu-west")  # due in the next second or two
    report = engine.dispatch_due_checks(horizon_s=3, batch_size=3, heartbeats=False)
    assert report.claimed == 10
    east = [batch for batch in sent if batch[0] == "checks.us-east"]
    west = [batch for batch in sent if batch[0] == "checks.eu-west"]
    assert [len(batch[2]) for batch in east] == [3, 2]  # cut at batch_size
    assert all(batch[3] is None for batch in east)  # already due: no eta
    assert sum(len(batch[2]) for batch in west) == 5
    assert all(batch[3] is not None for batch in west)  # released when their second starts
    assert {item[0] for batch in sent for item in batch[2]} == {str(c.pk) for c in checks}


def test_heartbeat_checks_are_not_probed(org_a):
    check = make_check(org_a, check_type="heartbeat", config={"period_s": 60})
    set_next_run(check, -1)  # even with a location, it is evaluated, not sent to a queue
    assert claim() == []
