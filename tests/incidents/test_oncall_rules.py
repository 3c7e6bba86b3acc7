"""Restrictions, overrides, layer precedence, merging and clipping, NULLs and RLS."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from alert24.tenancy import organization_scope
from incidents import oncall
from incidents.oncall import on_call_user_id

from .conftest import local, sql_one, sql_rows, utc


def spans(result: list[oncall.Shift]) -> list[tuple]:
    return [(s.user_id, s.start, s.end) for s in result]


# --- Restrictions ------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["daily", "five-weekly"])
def test_weekday_office_hours_restriction(build, people, how):
    # 2026-03-23 is a Monday; Berlin changes to summer time on Sunday 2026-03-29.
    tz = "Europe/Berlin"
    schedule = build.schedule(tz)
    layer = build.layer(
        schedule, [people.alice, people.bob], unit="weeks", start=local("2026-03-23 00:00", tz)
    )
    if how == "daily":
        build.restrict(layer, "daily", "09:00", 8 * 60)
    else:
        for day in range(1, 6):
            build.restrict(layer, "weekly", "09:00", 8 * 60, day=day)

    result = oncall.shifts(schedule, local("2026-03-23 00:00", tz), local("2026-04-06 00:00", tz))

    days = 14 if how == "daily" else 10
    assert len(result) == days
    for shift in result:
        assert shift.start.astimezone(ZoneInfo(tz)).time() == dt.time(9)
        assert shift.end.astimezone(ZoneInfo(tz)).time() == dt.time(17)
    assert {s.user_id for s in result[: days // 2]} == {people.alice.pk}
    assert {s.user_id for s in result[days // 2 :]} == {people.bob.pk}
    # 09:00 local is 08:00 UTC before the change and 07:00 UTC after it.
    assert result[0].start == utc("2026-03-23 08:00")
    assert result[-1].start.astimezone(dt.UTC).hour == 7
    assert on_call_user_id(schedule, local("2026-03-24 08:59", tz)) is None
    assert on_call_user_id(schedule, local("2026-03-24 16:59", tz)) == people.alice.pk
    assert on_call_user_id(schedule, local("2026-03-24 17:00", tz)) is None
    saturday_noon = on_call_user_id(schedule, local("2026-03-28 12:00", tz))
    assert saturday_noon == (people.alice.pk if how == "daily" else None)


def test_weekly_restriction_wraps_the_end_of_the_week(build, people):
    # Weekend cover: Friday 17:00 for 64 h, i.e. until Monday 09:00.
    schedule = build.schedule("America/New_York")
    tz = "America/New_York"
    layer = build.layer(schedule, [people.carol], start=local("2026-01-01 00:00", tz))
    build.restrict(layer, "weekly", "17:00", 64 * 60, day=5)

    result = oncall.shifts(schedule, local("2026-01-05 00:00", tz), local("2026-01-19 00:00", tz))

    assert spans(result) == [
        (people.carol.pk, local("2026-01-05 00:00", tz), local("2026-01-05 09:00", tz)),
        (people.carol.pk, local("2026-01-09 17:00", tz), local("2026-01-12 09:00", tz)),
        (people.carol.pk, local("2026-01-16 17:00", tz), local("2026-01-19 00:00", tz)),
    ]
    assert on_call_user_id(schedule, local("2026-01-11 23:59", tz)) == people.carol.pk  # Sunday
    assert on_call_user_id(schedule, local("2026-01-12 09:00", tz)) is None


def test_daily_restriction_wrapping_midnight(build, people):
    schedule = build.schedule("UTC")
    layer = build.layer(schedule, [people.alice, people.bob], start=utc("2026-06-01 22:00"))
    build.restrict(layer, "daily", "22:00", 10 * 60)

    result = oncall.shifts(schedule, utc("2026-06-01 00:00"), utc("2026-06-04 00:00"))

    assert spans(result) == [
        (people.alice.pk, utc("2026-06-01 22:00"), utc("2026-06-02 08:00")),
        (people.bob.pk, utc("2026-06-02 22:00"), utc("2026-06-03 08:00")),
        (people.alice.pk, utc("2026-06-03 22:00"), utc("2026-06-04 00:00")),
    ]
    assert on_call_user_id(schedule, utc("2026-06-02 03:00")) == people.alice.pk
    assert on_call_user_id(schedule, utc("2026-06-02 07:59:59")) == people.alice.pk
    assert on_call_user_id(schedule, utc("2026-06-02 08:00")) is None
    assert on_call_user_id(schedule, utc("2026-06-02 21:59")) is None


# --- Overrides -----------------------------------------------------------------------------


@pytest.fixture
def daily_utc(build, people):
    """Alice on 1 June, Bob on 2 June, Alice on 3 June..., hand-off at 09:00 UTC."""
    schedule = build.schedule("UTC")
    build.layer(schedule, [people.alice, people.bob], start=utc("2026-06-01 09:00"))
    return schedule


def test_full_shift_override(build, people, daily_utc):
    build.override(daily_utc, people.carol, utc("2026-06-02 09:00"), utc("2026-06-03 09:00"))

    result = oncall.shifts(daily_utc, utc("2026-06-01 09:00"), utc("2026-06-04 09:00"))

    assert spans(result) == [
        (people.alice.pk, utc("2026-06-01 09:00"), utc("2026-06-02 09:00")),
        (people.carol.pk, utc("2026-06-02 09:00"), utc("2026-06-03 09:00")),
        (people.alice.pk, utc("2026-06-03 09:00"), utc("2026-06-04 09:00")),
    ]


def test_partial_override_splits_a_shift_in_three(build, people, daily_utc):
    build.override(daily_utc, people.carol, utc("2026-06-01 12:00"), utc("2026-06-01 18:00"))

    result = oncall.shifts(daily_utc, utc("2026-06-01 09:00"), utc("2026-06-02 09:00"))

    assert spans(result) == [
        (people.alice.pk, utc("2026-06-01 09:00"), utc("2026-06-01 12:00")),
        (people.carol.pk, utc("2026-06-01 12:00"), utc("2026-06-01 18:00")),
        (people.alice.pk, utc("2026-06-01 18:00"), utc("2026-06-02 09:00")),
    ]
    assert on_call_user_id(daily_utc, utc("2026-06-01 11:59")) == people.alice.pk
    assert on_call_user_id(daily_utc, utc("2026-06-01 12:00")) == people.carol.pk
    assert on_call_user_id(daily_utc, utc("2026-06-01 18:00")) == people.alice.pk


@pytest.mark.parametrize("dave_is_newer", [True, False])
def test_overlapping_overrides_latest_created_wins(build, people, daily_utc, dave_is_newer):
    older, newer = utc("2026-05-01 00:00"), utc("2026-05-02 00:00")
    build.override(
        daily_utc,
        people.carol,
        utc("2026-06-01 10:00"),
        utc("2026-06-01 14:00"),
        created_at=older if dave_is_newer else newer,
    )
    build.override(
        daily_utc,
        people.dave,
        utc("2026-06-01 12:00"),
        utc("2026-06-01 16:00"),
        created_at=newer if dave_is_newer else older,
    )

    result = oncall.shifts(daily_utc, utc("2026-06-01 09:00"), utc("2026-06-01 20:00"))

    middle = (
        [
            (people.carol.pk, utc("2026-06-01 10:00"), utc("2026-06-01 12:00")),
            (people.dave.pk, utc("2026-06-01 12:00"), utc("2026-06-01 16:00")),
        ]
        if dave_is_newer
        else [
            (people.carol.pk, utc("2026-06-01 10:00"), utc("2026-06-01 14:00")),
            (people.dave.pk, utc("2026-06-01 14:00"), utc("2026-06-01 16:00")),
        ]
    )
    assert spans(result) == [
        (people.alice.pk, utc("2026-06-01 09:00"), utc("2026-06-01 10:00")),
        *middle,
        (people.alice.pk, utc("2026-06-01 16:00"), utc("2026-06-01 20:00")),
    ]


def test_override_covers_a_gap_where_no_layer_applies(build, people):
    schedule = build.schedule("UTC")
    build.override(schedule, people.bob, utc("2026-06-01 00:00"), utc("2026-06-01 06:00"))
    assert spans(oncall.shifts(schedule, utc("2026-05-31 00:00"), utc("2026-06-02 00:00"))) == [
        (people.bob.pk, utc("2026-06-01 00:00"), utc("2026-06-01 06:00"))
    ]


# --- Layer precedence --------------------------------------------------------------------


def test_higher_layer_wins_where_it_has_someone_lower_shows_through(build, people):
    schedule = build.schedule("UTC")
    build.layer(schedule, [people.alice, people.bob], start=utc("2026-06-01 00:00"), position=0)
    day_cover = build.layer(schedule, [people.carol], start=utc("2026-06-01 00:00"), position=1)
    build.restrict(day_cover, "daily", "09:00", 8 * 60)
    # A top layer that ends: below it, the others show through again.
    build.layer(
        schedule,
        [people.dave],
        start=utc("2026-06-02 00:00"),
        end_at=utc("2026-06-02 03:00"),
        position=5,
    )

    result = oncall.shifts(schedule, utc("2026-06-01 00:00"), utc("2026-06-03 00:00"))

    assert spans(result) == [
        (people.alice.pk, utc("2026-06-01 00:00"), utc("2026-06-01 09:00")),
        (people.carol.pk, utc("2026-06-01 09:00"), utc("2026-06-01 17:00")),
        (people.alice.pk, utc("2026-06-01 17:00"), utc("2026-06-02 00:00")),
        (people.dave.pk, utc("2026-06-02 00:00"), utc("2026-06-02 03:00")),
        (people.bob.pk, utc("2026-06-02 03:00"), utc("2026-06-02 09:00")),
        (people.carol.pk, utc("2026-06-02 09:00"), utc("2026-06-02 17:00")),
        (people.bob.pk, utc("2026-06-02 17:00"), utc("2026-06-03 00:00")),
    ]
    # schedule_layer_shifts shows one layer alone (the calendar's per-layer rows).
    assert spans(
        oncall.layer_shifts(day_cover, utc("2026-06-01 00:00"), utc("2026-06-02 00:00"))
    ) == [(people.carol.pk, utc("2026-06-01 09:00"), utc("2026-06-01 17:00"))]


# --- Merging, clipping, empty and NULL ---------------------------------------------------


def test_shifts_merge_equal_neighbours_and_clip_to_the_window(build, people):
    schedule = build.schedule("Europe/Berlin")
    build.layer(schedule, [people.alice], start=utc("2026-01-01 08:00"))  # one person, daily
    start, end = utc("2026-03-01 10:17:03"), utc("2026-04-15 06:00")
    assert spans(oncall.shifts(schedule, start, end)) == [(people.alice.pk, start, end)]


def test_two_layers_with_the_same_person_merge_into_one_shift(build, people):
    schedule = build.schedule("UTC")
    build.layer(schedule, [people.alice], start=utc("2026-06-01 00:00"), position=0)
    top = build.layer(schedule, [people.alice], start=utc("2026-06-01 00:00"), position=1)
    build.restrict(top, "daily", "09:00", 60)
    assert spans(oncall.shifts(schedule, utc("2026-06-01 00:00"), utc("2026-06-02 00:00"))) == [
        (people.alice.pk, utc("2026-06-01 00:00"), utc("2026-06-02 00:00"))
    ]


def test_empty_schedule_has_no_shifts_and_nobody_on_call(build):
    schedule = build.schedule("UTC")
    assert oncall.shifts(schedule, utc("2026-06-01 00:00"), utc("2026-09-01 00:00")) == []
    assert on_call_user_id(schedule, utc("2026-06-01 00:00")) is None


def test_null_and_odd_arguments_raise_nothing(build, people, daily_utc):
    layer = daily_utc.layers.get()
    for query in (
        "SELECT on_call_user(NULL, NULL)",
        "SELECT on_call_user(%s, NULL)",
        "SELECT schedule_layer_user(NULL, now())",
        "SELECT schedule_layer_user(%s, 'infinity')",
        "SELECT on_call_user(%s, '-infinity')",
    ):
        assert sql_one(query, [daily_utc.pk] if "%s" in query else []) is None
    assert sql_one("SELECT schedule_layer_user(%s, NULL)", [layer.pk]) is None
    for query, params in (
        ("SELECT * FROM schedule_shifts(NULL, NULL, NULL)", []),
        ("SELECT * FROM schedule_shifts(%s, NULL, now())", [daily_utc.pk]),
        ("SELECT * FROM schedule_shifts(%s, now(), now() - interval '1 day')", [daily_utc.pk]),
        ("SELECT * FROM schedule_shifts(%s, '-infinity', 'infinity')", [daily_utc.pk]),
        ("SELECT * FROM schedule_layer_shifts(NULL, now(), now())", []),
        ("SELECT * FROM schedule_layer_shifts(%s, NULL, NULL)", [layer.pk]),
        ("SELECT * FROM schedule_shifts(gen_random_uuid(), now(), now() + interval '1 day')", []),
    ):
        assert sql_rows(query, params) == [], query
    # An endless window is capped to 366 days, not refused.
    rows = sql_rows("SELECT * FROM schedule_shifts(%s, now(), 'infinity')", [daily_utc.pk])
    assert 366 <= len(rows) <= 367


def test_window_is_capped_at_366_days(build, people, daily_utc):
    start = utc("2026-06-01 09:00")
    result = oncall.shifts(daily_utc, start, start + dt.timedelta(days=1000))
    assert result[-1].end == start + dt.timedelta(days=366)
    assert len(result) == 366


def test_a_quarter_of_a_busy_schedule_is_quick(build, people):
    schedule = build.schedule("Europe/Berlin")
    tz = "Europe/Berlin"
    members = [people.alice, people.bob, people.carol, people.dave]
    build.layer(schedule, members, unit="hours", length=8, start=local("2026-01-01 06:00", tz))
    weekday = build.layer(schedule, members[:2], position=1, start=local("2026-01-05 09:00", tz))
    for day in range(1, 6):
        build.restrict(weekday, "weekly", "09:00", 8 * 60, day=day)
    for n in range(20):
        start = utc("2026-02-01 00:00") + dt.timedelta(days=4 * n, hours=3)
        build.override(schedule, people.dave, start, start + dt.timedelta(hours=5))

    began = time.perf_counter()
    result = oncall.shifts(schedule, utc("2026-02-01 00:00"), utc("2026-05-01 00:00"))
    assert time.perf_counter() - began < 5
    assert len(result) > 200


# --- Row-level security ------------------------------------------------------------------


def test_functions_respect_row_level_security(build, people, org_a, org_b, daily_utc):
    layer = daily_utc.layers.get()
    noon = utc("2026-06-01 12:00")
    window = (utc("2026-06-01 00:00"), utc("2026-06-05 00:00"))
    with organization_scope(org_a.pk):  # the non-owner app role, as a request runs
        assert on_call_user_id(daily_utc, noon) == people.alice.pk
        assert len(oncall.shifts(daily_utc, *window)) == 4
        assert sql_one("SELECT current_user") != sql_one("SELECT session_user")
    with organization_scope(org_b.pk):
        assert on_call_user_id(daily_utc, noon) is None
        assert oncall.shifts(daily_utc, *window) == []
        assert oncall.layer_shifts(layer, *window) == []
        assert sql_one("SELECT schedule_layer_user(%s, %s)", [layer.pk, noon]) is None
        assert oncall.on_call_now([daily_utc], at=noon) == {daily_utc.pk: None}
    with organization_scope(None):
        assert on_call_user_id(daily_utc, noon) is None
