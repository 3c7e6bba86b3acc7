"""Builders for on-call schedules: real rows in PostgreSQL, no mocks."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from accounts.models import Organization, OrganizationMember, User
from accounts.roles import Role
from incidents.models import (
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
    ScheduleRestriction,
)


def local(value: str, tz: str) -> dt.datetime:
    """``2026-03-29 09:00`` on the wall clock of ``tz`` (first occurrence if ambiguous)."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(tz))


def utc(value: str) -> dt.datetime:
    return local(value, "UTC")


def sql_one(query: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchone()[0]


def sql_rows(query: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall()


class Builder:
    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.count = 0

    def schedule(self, time_zone: str = "UTC", name: str | None = None) -> OnCallSchedule:
        self.count += 1
        return OnCallSchedule.objects.create(
            organization=self.organization,
            name=name or f"Schedule {self.count}",
            time_zone=time_zone,
        )

    def layer(
        self,
        schedule: OnCallSchedule,
        members: list[User],
        *,
        start: dt.datetime,
        unit: str = "days",
        length: int = 1,
        position: int = 0,
        end_at: dt.datetime | None = None,
    ) -> ScheduleLayer:
        layer = ScheduleLayer.objects.create(
            organization=self.organization,
            schedule=schedule,
            name=f"Layer {position}",
            position=position,
            rotation_unit=unit,
            rotation_length=length,
            rotation_start=start,
            end_at=end_at,
        )
        for index, user in enumerate(members):
            ScheduleLayerMember.objects.create(
                organization=self.organization, layer=layer, user=user, position=index
            )
        return layer

    def restrict(
        self,
        layer: ScheduleLayer,
        kind: str,
        start_time: str,
        minutes: int,
        day: int | None = None,
    ) -> ScheduleRestriction:
        return ScheduleRestriction.objects.create(
            organization=self.organization,
            layer=layer,
            kind=kind,
            start_day_of_week=day,
            start_time=dt.time.fromisoformat(start_time),
            duration_minutes=minutes,
        )

    def override(
        self,
        schedule: OnCallSchedule,
        user: User,
        start: dt.datetime,
        end: dt.datetime,
        created_at: dt.datetime | None = None,
    ) -> ScheduleOverride:
        fields = {"created_at": created_at} if created_at else {}
        return ScheduleOverride.objects.create(
            organization=self.organization,
            schedule=schedule,
            user=user,
            start_at=start,
            end_at=end,
            **fields,
        )


@pytest.fixture
def build(org_a) -> Builder:
    return Builder(org_a)


@pytest.fixture
def build_b(org_b) -> Builder:
    return Builder(org_b)


def make_person(name: str) -> User:
    """A user without a password (hashing one costs ~0.5 s, and nobody logs in here)."""
    user = User(email=f"{name.lower().replace(' ', '.')}@example.com", full_name=name)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def people(org_a) -> SimpleNamespace:
    """Four members of org A, with names the iCal summaries use."""
    crew = {}
    for name in ("Alice", "Bob", "Carol", "Dave"):
        user = make_person(name)
        OrganizationMember.objects.create(organization=org_a, user=user, role=Role.RESPONDER)
        crew[name.lower()] = user
    return SimpleNamespace(**crew)
