"""Rotations: day and week hand-offs keep their local wall-clock time across DST, in two
time zones; hour rotations are exact elapsed time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from incidents import oncall
from incidents.oncall import on_call_user_id

from .conftest import local, sql_one, utc

# (zone, a Sunday when DST changes, hours the UTC offset moves by then)
DST_CHANGES = [
    pytest.param("Europe/Berlin", "2026-03-29", +1, id="berlin-spring-forward"),
    pytest.param("Europe/Berlin", "2026-10-25", -1, id="berlin-fall-back"),
    pytest.param("America/New_York", "2026-03-08", +1, id="new-york-spring-forward"),
    pytest.param("America/New_York", "2026-11-01", -1, id="new-york-fall-back"),
]


def _day(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("tz", "change", "shift"), DST_CHANGES)
def test_daily_handoff_stays_at_nine_local_across_dst(build, people, tz, change, shift):
    schedule = build.schedule(tz)
    build.layer(schedule, [people.alice, people.bob], start=local(f"{_day(change, -3)} 09:00", tz))
    window = (local(f"{_day(change, -2)} 00:00", tz), local(f"{_day(change, 3)} 00:00", tz))

    result = oncall.shifts(schedule, *window)

    # Day -3 Alice, -2 Bob, -1 Alice, 0 Bob, +1 Alice, +2 Bob: hand-offs at 09:00 local.
    handoffs = [s.start for s in result[1:]]
    assert handoffs == [local(f"{_day(change, n)} 09:00", tz) for n in (-2, -1, 0, 1, 2)]
    assert all(h.astimezone(ZoneInfo(tz)).time() == dt.time(9) for h in handoffs)
    assert [s.user_id for s in result] == [people.alice.pk, people.bob.pk] * 3
    assert result[0].start == window[0] and result[-1].end == window[1]
    # The same local 09:00 is an hour earlier (spring) or later (fall) in UTC after the change.
    before, after = handoffs[0].astimezone(dt.UTC), handoffs[-1].astimezone(dt.UTC)
    assert before.time() != after.time()
    assert (before + dt.timedelta(days=4)) - after == dt.timedelta(hours=shift)
    # The point function agrees: a minute before 09:00 on the change day vs 09:00 itself.
    assert on_call_user_id(schedule, local(f"{change} 08:59", tz)) == people.alice.pk
    assert on_call_user_id(schedule, local(f"{change} 09:00", tz)) == people.bob.pk


@pytest.mark.parametrize(("tz", "change", "shift"), DST_CHANGES)
def test_weekly_handoff_stays_at_monday_nine_local_across_dst(build, people, tz, change, shift):
    schedule = build.schedule(tz)
    monday_before = _day(change, -6)  # every change in DST_CHANGES falls on a Sunday
    assert dt.date.fromisoformat(monday_before).isoweekday() == 1
    build.layer(
        schedule,
        [people.alice, people.bob, people.carol],
        unit="weeks",
        start=local(f"{monday_before} 09:00", tz),
    )
    window = (local(f"{monday_before} 00:00", tz), local(f"{_day(change, 15)} 00:00", tz))

    result = oncall.shifts(schedule, *window)

    assert [s.user_id for s in result] == [people.alice.pk, people.bob.pk, people.carol.pk]
    first, second, third = (s.start for s in result)
    assert first == local(f"{monday_before} 09:00", tz)
    assert second == local(f"{_day(change, 1)} 09:00", tz)
    assert third == local(f"{_day(change, 8)} 09:00", tz)
    assert second - first == dt.timedelta(days=7, hours=-shift)  # 167 h or 169 h
    assert third - second == dt.timedelta(days=7)
    assert on_call_user_id(schedule, local(f"{_day(change, 1)} 08:59", tz)) == people.alice.pk
    assert on_call_user_id(schedule, local(f"{_day(change, 1)} 09:00", tz)) == people.bob.pk


def test_hour_rotation_is_exact_elapsed_time_across_dst(build, people):
    schedule = build.schedule("Europe/Berlin")
    # In UTC: Python adds timedeltas to zoneinfo datetimes on the wall clock.
    start = local("2026-03-28 21:00", "Europe/Berlin").astimezone(dt.UTC)
    build.layer(schedule, [people.alice, people.bob], unit="hours", length=12, start=start)

    result = oncall.shifts(schedule, start, start + dt.timedelta(hours=48))

    assert [s.start for s in result] == [start + dt.timedelta(hours=12 * n) for n in range(4)]
    assert [s.start.astimezone(dt.UTC).hour for s in result] == [20, 8, 20, 8]
    # On the wall clock the hand-off moved from 09:00 to 10:00 once the clocks went forward.
    berlin = ZoneInfo("Europe/Berlin")
    assert result[1].start.astimezone(berlin).hour == 10
    assert result[0].start.astimezone(berlin).hour == 21
    assert [s.user_id for s in result] == [people.alice.pk, people.bob.pk] * 2
    assert on_call_user_id(schedule, utc("2026-03-29 07:59")) == people.alice.pk
    assert on_call_user_id(schedule, utc("2026-03-29 08:00")) == people.bob.pk


def test_multi_day_rotation_and_many_members(build, people):
    members = [people.alice, people.bob, people.carol, people.dave]
    schedule = build.schedule("America/New_York")
    build.layer(schedule, members, length=3, start=local("2026-01-05 08:30", "America/New_York"))

    for turn in range(10):
        instant = local("2026-01-05 08:30", "America/New_York") + dt.timedelta(days=3 * turn)
        assert on_call_user_id(schedule, instant) == members[turn % 4].pk
    assert on_call_user_id(schedule, local("2026-01-05 08:29", "America/New_York")) is None


def test_handoff_inside_the_dst_gap_happens_when_the_clock_jumps(build, people):
    # A 02:30 hand-off does not exist on the wall clock on 2026-03-29 in Berlin: the clock
    # jumps from 02:00 to 03:00, which is when the turn changes, and the shifts agree.
    schedule = build.schedule("Europe/Berlin")
    build.layer(
        schedule, [people.alice, people.bob], start=local("2026-03-27 02:30", "Europe/Berlin")
    )
    result = oncall.shifts(schedule, utc("2026-03-28 12:00"), utc("2026-03-29 12:00"))
    assert [(s.user_id, s.start) for s in result] == [
        (people.bob.pk, utc("2026-03-28 12:00")),
        (people.alice.pk, utc("2026-03-29 01:00")),  # 03:00 CEST, the end of the gap
    ]
    assert on_call_user_id(schedule, utc("2026-03-29 00:59:59")) == people.bob.pk


def test_layer_user_sql_before_start_and_after_end(build, people):
    schedule = build.schedule("UTC")
    layer = build.layer(
        schedule, [people.alice], start=utc("2026-05-01 00:00"), end_at=utc("2026-05-03 00:00")
    )
    query = "SELECT schedule_layer_user(%s, %s)"
    assert sql_one(query, [layer.pk, utc("2026-04-30 23:59")]) is None
    assert sql_one(query, [layer.pk, utc("2026-05-01 00:00")]) == people.alice.pk
    assert sql_one(query, [layer.pk, utc("2026-05-02 23:59")]) == people.alice.pk
    assert sql_one(query, [layer.pk, utc("2026-05-03 00:00")]) is None
