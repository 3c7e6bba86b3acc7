"""schedule_shifts and on_call_user are one source of truth: sampled point by point, the
shifts say exactly what the point function says, even around DST changes with hand-offs
and restrictions placed inside the skipped or repeated hour."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from incidents import oncall

from .conftest import local, sql_rows, utc


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"], ids=["spring", "fall"])
def test_shifts_agree_with_on_call_user_everywhere(build, people, day):
    tz = "Europe/Berlin"
    schedule = build.schedule(tz)
    before = dt.date.fromisoformat(day) - dt.timedelta(days=3)
    build.layer(
        schedule,
        [people.alice, people.bob],
        start=local(f"{before} 02:30", tz),  # hand-off inside the odd hour
        position=0,
    )
    nights = build.layer(
        schedule, [people.carol, people.dave], unit="hours", length=5, start=utc(f"{before}"),
        position=1,
    )  # fmt: skip
    build.restrict(nights, "daily", "02:15", 30)
    build.override(schedule, people.dave, utc(f"{day} 00:40"), utc(f"{day} 00:50"))
    midnight = utc(f"{day} 00:00")
    start, end = midnight - dt.timedelta(days=1), midnight + dt.timedelta(days=2)

    result = oncall.shifts(schedule, start, end)

    samples = sql_rows(
        "SELECT t, on_call_user(%s, t) FROM generate_series(%s::timestamptz, %s, '5 minutes') t",
        [schedule.pk, start, end - dt.timedelta(minutes=1)],
    )
    for instant, expected in samples:
        covering = [s.user_id for s in result if s.start <= instant < s.end]
        assert covering == ([expected] if expected else []), instant
    # Shifts do not overlap, are ordered, and neighbours differ or are separated by a gap.
    for a, b in itertools.pairwise(result):
        assert a.end <= b.start
        assert a.user_id != b.user_id or a.end < b.start
    # The edges are exact: just before each shift someone else (or nobody) is on call.
    for shift in result:
        if shift.start > start:
            assert oncall.on_call_user_id(schedule, shift.start) == shift.user_id
            previous = oncall.on_call_user_id(schedule, shift.start - dt.timedelta(microseconds=1))
            assert previous != shift.user_id
