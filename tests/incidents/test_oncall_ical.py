"""Private iCal feeds: parse with icalendar, UTC times, stable UIDs, 404 for forged tokens,
and a token of one organization never shows another's data."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.utils import timezone
from icalendar import Calendar

from accounts.models import OrganizationMember
from alert24.tenancy import organization_scope
from incidents import oncall
from incidents.calendar import schedule_ical_url, user_ical_token, user_ical_url

from .conftest import local, make_person, sql_one

BERLIN = ZoneInfo("Europe/Berlin")


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


@pytest.fixture
def berlin_daily(build, people):
    """Alice and Bob alternate daily at 09:00 Berlin time, from a month ago."""
    schedule = build.schedule("Europe/Berlin", name="Primary")
    start_day = timezone.now().astimezone(BERLIN).date() - dt.timedelta(days=30)
    build.layer(
        schedule, [people.alice, people.bob], start=local(f"{start_day} 09:00", "Europe/Berlin")
    )
    return schedule


def test_schedule_feed_lists_the_final_shifts_in_utc(client, berlin_daily, build, people):
    soon = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    back = soon + dt.timedelta(hours=2)
    build.override(berlin_daily, people.carol, soon, back)

    response = client.get(schedule_ical_url(berlin_daily))
    calendar = parse(response)
    items = events(calendar)

    assert str(calendar["X-WR-CALNAME"]) == "On call: Primary"
    assert len(items) > 90  # a week back to 90 days ahead, one shift a day plus the override
    assert {str(e["SUMMARY"]) for e in items} == {
        "Alice on call",
        "Bob on call",
        "Carol on call",
    }
    assert b"DTSTART:" in response.content and b"DTSTART;TZID" not in response.content
    for event in items:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.utcoffset() == dt.timedelta(0) and end.utcoffset() == dt.timedelta(0)
        assert start < end
    carol = [e for e in items if str(e["SUMMARY"]) == "Carol on call"]
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in carol] == [(soon, back)]
    # Every other shift (but the first, clipped to the window) starts at 09:00 on the
    # Berlin wall clock whatever that day's UTC offset, or when the override hands back.
    local_starts = {e.decoded("DTSTART").astimezone(BERLIN).time() for e in items[1:]}
    assert dt.time(9) in local_starts
    assert local_starts <= {
        dt.time(9),
        soon.astimezone(BERLIN).time(),
        back.astimezone(BERLIN).time(),
    }
    # The feed is exactly the engine's answer for its window.
    first = items[0].decoded("DTSTART")
    engine = oncall.shifts(berlin_daily, first, items[-1].decoded("DTEND"))
    assert [(s.start, s.end) for s in engine] == [
        (e.decoded("DTSTART"), e.decoded("DTEND")) for e in items
    ]


def test_uids_are_unique_and_stable(client, berlin_daily):
    url = schedule_ical_url(berlin_daily)
    first = [str(e["UID"]) for e in events(parse(client.get(url)))]
    second = [str(e["UID"]) for e in events(parse(client.get(url)))]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(uid.startswith(f"{berlin_daily.pk}-") for uid in first)


def test_user_feed_lists_a_persons_shifts_across_schedules(client, berlin_daily, build, people):
    secondary = build.schedule("UTC", name="Secondary")
    build.layer(secondary, [people.alice], start=timezone.now() - dt.timedelta(days=1))

    response = client.get(user_ical_url(people.alice, berlin_daily.organization))
    items = events(parse(response))

    summaries = [str(e["SUMMARY"]) for e in items]
    assert set(summaries) == {"On call: Primary", "On call: Secondary"}
    assert summaries.count("On call: Secondary") == 1  # one long merged shift
    for event in items:
        assert event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    # Bob's days on Primary are not in Alice's feed: half of Primary's days are hers.
    primary = summaries.count("On call: Primary")
    assert 45 <= primary <= 50


@pytest.mark.parametrize(
    "path",
    [
        "/oncall/ical/schedule/not-a-real-token.ics",
        "/oncall/ical/schedule/%20.ics",
        "/oncall/ical/user/not-a-real-token.ics",
        "/oncall/ical/user/eyJ1IjoiMSJ9:forged.ics",
    ],
)
def test_unknown_or_forged_tokens_are_404(client, berlin_daily, path):
    assert client.get(path).status_code == 404


def test_tampered_user_tokens_are_404(client, people, org_a, org_b, berlin_daily):
    token = user_ical_token(people.alice, org_a)
    assert client.get(f"/oncall/ical/user/{token}.ics").status_code == 200
    assert client.get(f"/oncall/ical/user/{token[:-2]}xx.ics").status_code == 404
    # Signed with another salt (e.g. a password-reset style token) is not a feed token.
    other_salt = signing.dumps({"u": str(people.alice.pk), "o": str(org_a.pk)}, salt="other")
    assert client.get(f"/oncall/ical/user/{other_salt}.ics").status_code == 404
    # A genuine signature for an organization she does not belong to: 404, not B's data.
    stranger = signing.dumps(
        {"u": str(people.alice.pk), "o": str(org_b.pk)}, salt="oncall-ical-user"
    )
    assert client.get(f"/oncall/ical/user/{stranger}.ics").status_code == 404
    random_ids = signing.dumps(
        {"u": str(uuid.uuid4()), "o": str(uuid.uuid4())}, salt="oncall-ical-user"
    )
    assert client.get(f"/oncall/ical/user/{random_ids}.ics").status_code == 404


def test_user_feed_stops_when_they_leave_the_organization(client, people, org_a, berlin_daily):
    url = user_ical_url(people.alice, org_a)
    assert client.get(url).status_code == 200
    OrganizationMember.objects.filter(user=people.alice, organization=org_a).delete()
    assert client.get(url).status_code == 404


def test_org_a_tokens_never_show_org_b_data(client, berlin_daily, build_b, people, org_b):
    # Org B has its own schedule, where Alice (a member of both) and Bob B are on call.
    OrganizationMember.objects.create(organization=org_b, user=people.alice)
    bob_b = make_person("Bob Globex")
    OrganizationMember.objects.create(organization=org_b, user=bob_b)
    b_schedule = build_b.schedule("UTC", name="Globex secret rota")
    build_b.layer(b_schedule, [people.alice, bob_b], start=timezone.now() - dt.timedelta(days=9))
    build_b.override(
        b_schedule,
        bob_b,
        timezone.now() - dt.timedelta(hours=1),
        timezone.now() + dt.timedelta(hours=1),
    )

    a_schedule_feed = client.get(schedule_ical_url(berlin_daily)).content
    a_user_feed = client.get(user_ical_url(people.alice, berlin_daily.organization)).content
    for content in (a_schedule_feed, a_user_feed):
        assert b"Globex" not in content
        assert str(b_schedule.pk).encode() not in content
        assert str(bob_b.pk).encode() not in content
    # And B's own feeds show B's rota only.
    b_feed = events(parse(client.get(schedule_ical_url(b_schedule))))
    assert {str(e["SUMMARY"]) for e in b_feed} <= {"Alice on call", "Bob Globex on call"}
    assert all(str(e["UID"]).startswith(f"{b_schedule.pk}-") for e in b_feed)
    b_user = [
        str(e["SUMMARY"]) for e in events(parse(client.get(user_ical_url(people.alice, org_b))))
    ]
    assert set(b_user) == {"On call: Globex secret rota"}


def test_token_lookup_is_the_only_way_past_rls(berlin_daily):
    with organization_scope(None):
        # The anonymous request's view of the world: no schedules at all...
        assert not type(berlin_daily).objects.exists()
        # ...except the organization of the one schedule whose token it holds.
        assert (
            sql_one("SELECT schedule_organization_for_ical_token(%s)", [berlin_daily.ical_token])
            == berlin_daily.organization_id
        )
        assert sql_one("SELECT schedule_organization_for_ical_token('nope')") is None
        assert sql_one("SELECT schedule_organization_for_ical_token(NULL)") is None
        week = (timezone.now(), timezone.now() + dt.timedelta(days=7))
        assert oncall.shifts(berlin_daily, *week) == []
