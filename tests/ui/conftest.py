"""Fixtures for the responder web app: one organization with a member of every role."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from accounts.models import OrganizationMember, User
from accounts.roles import Role
from incidents import lifecycle
from incidents.models import (
    Incident,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
)
from tests.incidents.factories import policy, service


def person(email: str) -> User:
    """A user with an unusable password: tests log in with force_login (hashing is slow)."""
    user = User(email=email, full_name=email.split("@")[0].title())
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def crew(org_a) -> SimpleNamespace:
    """A viewer, a responder, a manager and an admin of org A."""
    people = {}
    for role in (Role.VIEWER, Role.RESPONDER, Role.MANAGER, Role.ADMIN):
        user = person(f"{role}@acme.example")
        OrganizationMember.objects.create(organization=org_a, user=user, role=role)
        people[str(role)] = user
    return SimpleNamespace(**people)


@pytest.fixture
def api(org_a, crew):
    return service(org_a, policy(org_a, [[crew.responder]], name="Primary"), name="API")


@pytest.fixture
def open_incident(api, crew):
    def make(title: str = "Database down", **fields) -> Incident:
        return lifecycle.open_incident(api, title, created_by=crew.responder, **fields).incident

    return make


@pytest.fixture
def schedule(org_a, crew) -> OnCallSchedule:
    created = OnCallSchedule.objects.create(organization=org_a, name="Primary on-call")
    start = timezone.now().replace(hour=9, minute=0, second=0, microsecond=0) - dt.timedelta(days=3)
    layer = ScheduleLayer.objects.create(
        organization=org_a,
        schedule=created,
        name="Weekdays",
        rotation_unit="days",
        rotation_length=1,
        rotation_start=start,
    )
    for index, user in enumerate([crew.responder, crew.manager]):
        ScheduleLayerMember.objects.create(
            organization=org_a, layer=layer, user=user, position=index
        )
    return created


@pytest.fixture
def login(client):
    def as_user(user: User):
        client.force_login(user)
        return client

    return as_user
