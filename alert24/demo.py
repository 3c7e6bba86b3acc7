"""The demo organization ``make run`` loads, so a newcomer has something to look at.

Idempotent: a second run finds the organization and changes nothing. The admin's password
is random and shown only when the account is created; nothing secret lives in the repo.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from accounts.models import (
    Organization,
    OrganizationMember,
    TeamGroup,
    TeamMembership,
    User,
    UserContactMethod,
    UserNotificationPreference,
)
from accounts.roles import Role

DEMO_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@example.com"

DEMO_PEOPLE = [
    # email, name, role, time zone
    ("ana.responder@example.com", "Ana Responder", Role.RESPONDER, "Europe/Berlin"),
    ("raj.manager@example.com", "Raj Manager", Role.MANAGER, "Asia/Kolkata"),
    ("val.viewer@example.com", "Val Viewer", Role.VIEWER, "America/New_York"),
]


@dataclass
class DemoResult:
    organization: Organization
    admin: User
    password: str | None  # set only when the admin was created by this call


@transaction.atomic
def load_demo() -> DemoResult:
    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_SLUG, defaults={"name": "Demo Company", "time_zone": "Europe/London"}
    )
    password = None
    admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
    if admin is None:
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(
            DEMO_ADMIN_EMAIL, password, full_name="Demo Admin", time_zone="Europe/London"
        )
    OrganizationMember.objects.get_or_create(
        organization=organization, user=admin, defaults={"role": Role.ADMIN}
    )
    team, _ = TeamGroup.objects.get_or_create(
        organization=organization, name="Platform", defaults={"description": "Runs the stack."}
    )
    people = [admin]
    for email, name, role, zone in DEMO_PEOPLE:
        person = User.objects.filter(email=email).first()
        if person is None:
            # No password: demo teammates cannot log in until an admin sets one.
            person = User.objects.create_user(email, None, full_name=name, time_zone=zone)
        OrganizationMember.objects.get_or_create(
            organization=organization, user=person, defaults={"role": role, "invited_by": admin}
        )
        people.append(person)
    for person in people:
        UserContactMethod.objects.get_or_create(
            user=person, method_type="email", value=person.email, defaults={"is_verified": True}
        )
        UserNotificationPreference.objects.get_or_create(user=person)
        if person.email != "val.viewer@example.com":
            TeamMembership.objects.get_or_create(organization=organization, team=team, user=person)
    from incidents.demo import load_demo_incident_response
    from monitoring.demo import load_demo_monitors
    from statuspages.demo import load_demo_status_page

    load_demo_incident_response(organization, people)
    load_demo_monitors(organization)
    load_demo_status_page(organization)
    return DemoResult(organization, admin, password)
