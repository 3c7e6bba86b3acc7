"""Private iCal feeds of on-call shifts: one per schedule, one per person.

Calendar apps fetch these without logging in, so the URL itself is the credential:
a schedule's random ``ical_token``, or for a person a token signed with ``SECRET_KEY``
(salt ``oncall-ical-user``, no expiry) naming the user and the organization. An anonymous
request runs under row-level security with no organization and sees nothing, so the view
resolves the organization first through one narrow ``SECURITY DEFINER`` SQL function
(schedule token) or the signature (user token), then does everything else inside
``organization_scope`` for that organization only. Anything unknown or forged is a 404.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core import signing
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from accounts.models import Organization, OrganizationMember, User
from alert24.tenancy import organization_scope
from incidents import oncall
from incidents.models import OnCallSchedule

USER_TOKEN_SALT = "oncall-ical-user"
FEED_PAST = dt.timedelta(days=7)
FEED_AHEAD = dt.timedelta(days=90)


def user_ical_token(user: User, organization: Organization) -> str:
    """The signed token of a person's feed for one organization (stable: same input, same token)."""
    return signing.dumps({"u": str(user.pk), "o": str(organization.pk)}, salt=USER_TOKEN_SALT)


def schedule_ical_url(schedule: OnCallSchedule) -> str:
    return reverse("oncall-ical-schedule", args=[schedule.ical_token])


def user_ical_url(user: User, organization: Organization) -> str:
    return reverse("oncall-ical-user", args=[user_ical_token(user, organization)])


def _read_user_token(token: str) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        payload = signing.loads(token, salt=USER_TOKEN_SALT)
        return uuid.UUID(payload["u"]), uuid.UUID(payload["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise Http404("Unknown calendar.") from error


def _window() -> tuple[dt.datetime, dt.datetime]:
    # Start at a UTC midnight, so the first (clipped) shift keeps its UID all day long.
    today = timezone.now().astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - FEED_PAST, today + FEED_AHEAD


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Alert24//On-call schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    return calendar


def _event(shift: oncall.Shift, summary: str, stamp: dt.datetime) -> Event:
    start = shift.start.astimezone(dt.UTC)
    event = Event()
    event.add("uid", f"{shift.schedule_id}-{shift.user_id}-{start:%Y%m%dT%H%M%SZ}@alert24")
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", shift.end.astimezone(dt.UTC))
    event.add("summary", summary)
    return event


def _response(calendar: Calendar, filename: str) -> HttpResponse:
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_safe
def schedule_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A schedule's final shifts (overrides included), a week back to 90 days ahead."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT schedule_organization_for_ical_token(%s)", [token])
        organization_id = cursor.fetchone()[0]
    if organization_id is None:
        raise Http404("Unknown calendar.")
    stamp = timezone.now().astimezone(dt.UTC)
    start, end = _window()
    with organization_scope(organization_id):
        schedule = OnCallSchedule.objects.filter(
            organization_id=organization_id, ical_token=token
        ).first()
        if schedule is None:
            raise Http404("Unknown calendar.")
        calendar = _calendar(f"On call: {schedule.name}")
        for shift in oncall.shifts(schedule, start, end):
            name = shift.user.get_full_name() if shift.user else "Unknown user"
            calendar.add_component(_event(shift, f"{name} on call", stamp))
    return _response(calendar, "schedule.ics")


@require_safe
def user_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's shifts across the schedules of the organization named in the token.

    The token stops working when they leave the organization or are deactivated.
    """
    user_id, organization_id = _read_user_token(token)
    stamp = timezone.now().astimezone(dt.UTC)
    start, end = _window()
    with organization_scope(organization_id):
        membership = (
            OrganizationMember.objects.filter(
                organization_id=organization_id, user_id=user_id, user__is_active=True
            )
            .select_related("user", "organization")
            .first()
        )
        if membership is None:
            raise Http404("Unknown calendar.")
        user = membership.user
        calendar = _calendar(f"On call: {user.get_full_name()} ({membership.organization})")
        for shift in oncall.user_shifts(user, start, end, organization=organization_id):
            schedule_name = shift.schedule.name if shift.schedule else "schedule"
            calendar.add_component(_event(shift, f"On call: {schedule_name}", stamp))
    return _response(calendar, "on-call.ics")
