"""The Python wrapper: few queries, objects instead of rows, the same answers as the SQL."""

from __future__ import annotations

import datetime as dt

from incidents import oncall

from .conftest import make_person, sql_one, utc


def test_on_call_now_answers_many_schedules_in_two_queries(
    build, people, django_assert_num_queries
):
    first, second, empty = build.schedule(), build.schedule(), build.schedule()
    build.layer(first, [people.alice, people.bob], start=utc("2026-06-01 00:00"))
    build.layer(second, [people.carol], start=utc("2026-06-01 00:00"))
    at = utc("2026-06-02 12:00")

    with django_assert_num_queries(2):
        result = oncall.on_call_now([first, second, empty], at=at)

    assert result == {first.pk: people.bob, second.pk: people.carol, empty.pk: None}
    assert result[first.pk].pk == sql_one("SELECT on_call_user(%s, %s)", [first.pk, at])
    assert oncall.on_call_now([]) == {}


def test_shifts_carry_users_and_schedule(build, people, django_assert_num_queries):
    schedule = build.schedule()
    build.layer(schedule, [people.alice, people.bob], start=utc("2026-06-01 09:00"))
    with django_assert_num_queries(2):
        result = oncall.shifts(schedule, utc("2026-06-01 09:00"), utc("2026-06-03 09:00"))
    assert [(s.user, s.start, s.end) for s in result] == [
        (people.alice, utc("2026-06-01 09:00"), utc("2026-06-02 09:00")),
        (people.bob, utc("2026-06-02 09:00"), utc("2026-06-03 09:00")),
    ]
    assert {s.schedule_id for s in result} == {schedule.pk}


def test_handoffs_are_the_shift_starts_inside_the_window(build, people):
    schedule = build.schedule()
    build.layer(schedule, [people.alice, people.bob], start=utc("2026-06-01 09:00"))
    build.override(schedule, people.carol, utc("2026-06-02 13:00"), utc("2026-06-02 14:00"))

    # Alice is already on call at 10:00 on 1 June: that is not a hand-off.
    result = oncall.handoffs(schedule, utc("2026-06-01 10:00"), utc("2026-06-03 09:00"))
    assert [(s.user_id, s.start) for s in result] == [
        (people.bob.pk, utc("2026-06-02 09:00")),
        (people.carol.pk, utc("2026-06-02 13:00")),
        (people.bob.pk, utc("2026-06-02 14:00")),
    ]
    # A hand-off exactly at the window start counts; one exactly at its end does not.
    starts = oncall.handoffs(schedule, utc("2026-06-02 09:00"), utc("2026-06-02 13:00"))
    assert [s.start for s in starts] == [utc("2026-06-02 09:00")]


def test_user_shifts_span_the_organizations_schedules(build, build_b, people, org_a, org_b):
    primary, secondary = build.schedule(name="Primary"), build.schedule(name="Secondary")
    build.layer(primary, [people.alice, people.bob], start=utc("2026-06-01 00:00"))
    build.layer(secondary, [people.bob, people.alice], start=utc("2026-06-01 12:00"))
    build.override(build.schedule(name="Database"), people.alice, utc("2026-06-01 20:00"),
                   utc("2026-06-01 21:00"))  # fmt: skip
    build.layer(build.schedule(name="Unrelated"), [people.carol], start=utc("2026-06-01"))
    # Alice is also in org B; B's schedule appears only when B is asked for.
    from accounts.models import OrganizationMember

    OrganizationMember.objects.create(organization=org_b, user=people.alice)
    b_schedule = build_b.schedule(name="Globex primary")
    build_b.layer(b_schedule, [people.alice], start=utc("2026-06-01 00:00"))

    window = (utc("2026-06-01 00:00"), utc("2026-06-02 00:00"))
    result = oncall.user_shifts(people.alice, *window, organization=org_a)
    assert [(s.schedule.name, s.start, s.end) for s in result] == [
        ("Primary", utc("2026-06-01 00:00"), utc("2026-06-02 00:00")),
        ("Database", utc("2026-06-01 20:00"), utc("2026-06-01 21:00")),
    ]
    assert {s.user for s in result} == {people.alice}
    everywhere = oncall.user_shifts(people.alice, *window)
    assert {s.schedule.name for s in everywhere} == {"Primary", "Database", "Globex primary"}
    assert oncall.user_shifts(make_person("Nobody"), *window) == []
    # The second day of "Secondary" is Alice's (12:00 to 12:00).
    later = oncall.user_shifts(
        people.alice, utc("2026-06-02 00:00"), utc("2026-06-03 00:00"), organization=org_a.pk
    )
    assert ("Secondary", utc("2026-06-02 12:00")) in [(s.schedule.name, s.start) for s in later]
    assert all(isinstance(s.end, dt.datetime) for s in later)
