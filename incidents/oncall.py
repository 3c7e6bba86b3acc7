"""Who is on call, and when: a thin wrapper over the SQL functions in ``incidents/sql/oncall.sql``.

The rules (wall-clock hand-offs across DST, restrictions, layer precedence, overrides) live
in PostgreSQL only, so the escalation engine, the web pages and the iCal feeds can never
disagree. Nothing here re-implements them: each function runs one or two queries and turns
rows into Python objects. Queries run as the caller's role, so row-level security applies:
another organization's schedule has nobody on call and no shifts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from accounts.models import Organization, OrganizationMember, User
from accounts.validators import validate_time_zone
from incidents.models import OnCallSchedule, ScheduleLayer

# schedule_shifts() refuses longer windows (it caps them at 366 days); say so up front.
MAX_WINDOW = dt.timedelta(days=366)
# The database keeps microseconds: the smallest step before an instant.
_EPSILON = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Shift:
    """One stretch of time one person is on call (``start`` inclusive, ``end`` exclusive)."""

    user_id: uuid.UUID
    user: User | None
    start: dt.datetime
    end: dt.datetime
    schedule_id: uuid.UUID | None = None
    schedule: OnCallSchedule | None = None


def _pk(obj: object) -> uuid.UUID | str:
    return getattr(obj, "pk", obj)  # type: ignore[return-value]


def _aware(value: dt.datetime) -> dt.datetime:
    # A naive datetime would be read in the connection's time zone: ambiguous, so refuse it.
    if timezone.is_naive(value):
        raise ValueError("On-call queries need time-zone-aware datetimes.")
    return value


def _users(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    wanted = {user_id for user_id in ids if user_id is not None}
    return User.objects.in_bulk(wanted) if wanted else {}


def on_call_user_id(
    schedule: OnCallSchedule | uuid.UUID | str, at: dt.datetime | None = None
) -> uuid.UUID | None:
    """The id of whoever is on call for ``schedule`` at ``at`` (default: now), or None."""
    params = [_pk(schedule), _aware(at or timezone.now())]
    with connection.cursor() as cursor:
        cursor.execute("SELECT on_call_user(%s, %s)", params)
        return cursor.fetchone()[0]


def on_call_now(
    schedules: Iterable[OnCallSchedule | uuid.UUID | str], at: dt.datetime | None = None
) -> dict[uuid.UUID, User | None]:
    """Whoever is on call right now (or at ``at``) for each schedule, in two queries.

    Keys are schedule ids; a schedule nobody covers (or one the caller may not see) maps
    to None.
    """
    ids = [str(_pk(schedule)) for schedule in schedules]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, on_call_user(s.id, %s) FROM unnest(%s::uuid[]) AS s (id)",
            [_aware(at or timezone.now()), ids],
        )
        rows = cursor.fetchall()
    users = _users(user_id for _, user_id in rows)
    return {schedule_id: users.get(user_id) for schedule_id, user_id in rows}


def _shift_rows(sql: str, params: list) -> list[Shift]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    users = _users(row[0] for row in rows)
    return [Shift(user_id, users.get(user_id), start, end) for user_id, start, end in rows]


def shifts(
    schedule: OnCallSchedule | uuid.UUID | str, start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """The final schedule between ``start`` and ``end``: overrides and layers resolved,
    equal neighbours merged, gaps left out, clipped to the window (at most 366 days)."""
    items = _shift_rows(
        "SELECT user_id, start_at, end_at FROM schedule_shifts(%s, %s, %s)",
        [_pk(schedule), _aware(start), _aware(end)],
    )
    schedule_obj = schedule if isinstance(schedule, OnCallSchedule) else None
    return [
        Shift(s.user_id, s.user, s.start, s.end, uuid.UUID(str(_pk(schedule))), schedule_obj)
        for s in items
    ]


def layer_shifts(
    layer: ScheduleLayer | uuid.UUID | str, start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """One layer's own rotation (no overrides, no other layers), for per-layer calendar rows."""
    return _shift_rows(
        "SELECT user_id, start_at, end_at FROM schedule_layer_shifts(%s, %s, %s)",
        [_pk(layer), _aware(start), _aware(end)],
    )


def user_shifts(
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    organization: Organization | uuid.UUID | str | None = None,
) -> list[Shift]:
    """A person's shifts across every schedule of ``organization`` (default: of each of their
    organizations the caller can see), ordered by start. Each shift names its schedule.

    Only schedules where they are a layer member or have an override are computed.
    """
    if organization is not None:
        organization_ids = [str(_pk(organization))]
    else:
        organization_ids = [
            str(org_id)
            for org_id in OrganizationMember.objects.filter(user=user).values_list(
                "organization_id", flat=True
            )
        ]
    if not organization_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.id, x.start_at, x.end_at
              FROM on_call_schedules s
             CROSS JOIN LATERAL schedule_shifts(s.id, %(start)s, %(end)s) AS x
             WHERE s.organization_id = ANY(%(orgs)s::uuid[])
               AND (EXISTS (SELECT 1 FROM schedule_layer_members m
                              JOIN schedule_layers l ON l.id = m.layer_id
                             WHERE l.schedule_id = s.id AND m.user_id = %(user)s)
                    OR EXISTS (SELECT 1 FROM schedule_overrides o
                                WHERE o.schedule_id = s.id AND o.user_id = %(user)s))
               AND x.user_id = %(user)s
             ORDER BY x.start_at, s.name, s.id
            """,
            {"start": _aware(start), "end": _aware(end), "orgs": organization_ids, "user": user.pk},
        )
        rows = cursor.fetchall()
    schedules = OnCallSchedule.objects.in_bulk({row[0] for row in rows})
    return [
        Shift(user.pk, user, shift_start, shift_end, schedule_id, schedules.get(schedule_id))
        for schedule_id, shift_start, shift_end in rows
    ]


def handoffs(
    schedule: OnCallSchedule | uuid.UUID | str, start: dt.datetime, end: dt.datetime
) -> list[Shift]:
    """Shifts that begin in ``[start, end)``: the moments to tell someone they are now on call.

    A shift already running at ``start`` is not a hand-off, so the window is opened a
    microsecond early and shifts starting before ``start`` are dropped.
    """
    start = _aware(start)
    return [s for s in shifts(schedule, start - _EPSILON, _aware(end)) if s.start >= start]


def validate_schedule(schedule: OnCallSchedule) -> None:
    """Everything an admin should fix before trusting a schedule, as one ValidationError.

    The database already refuses most bad rows (CHECK constraints, the time-zone trigger),
    and the SQL functions treat the rest as "nobody on call" rather than failing; this
    names the field to fix instead. A layer without participants is allowed in the
    database (it is being set up) but is reported here, because nobody is paged from it.
    """
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    try:
        validate_time_zone(schedule.time_zone)
    except ValidationError as error:
        for message in error.messages:
            add("time_zone", message)
    if schedule.pk is not None:
        layers = schedule.layers.annotate(member_count=Count("memberships")).order_by("position")
        for layer in layers:
            if layer.rotation_length is None or layer.rotation_length < 1:
                add("rotation_length", f"Layer “{layer.name}”: the rotation length must be ≥ 1.")
            if layer.member_count == 0:
                add("members", f"Layer “{layer.name}” has no participants.")
            if layer.end_at is not None and layer.end_at <= layer.rotation_start:
                add("end_at", f"Layer “{layer.name}” must end after its rotation starts.")
        for override in schedule.overrides.filter(end_at__lte=F("start_at")):
            add("end_at", f"The override for {override.user} must end after it starts.")
    if errors:
        raise ValidationError(errors)
