"""No N+1: query counts stay flat with 1,000 incidents, long timelines and many schedules.

Every request pays 10 fixed queries (session, user, membership, RLS scope in and out);
the budgets below are that plus the page's own, and do not grow with the data.
Timings are printed by hand runs, not asserted (see bench/ for figures).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganizationMember, UserContactMethod
from incidents import lifecycle
from incidents.models import (
    Incident,
    IncidentAssignment,
    IncidentUpdate,
    NotificationHistory,
    NotificationRule,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from tests.incidents.factories import policy
from tests.ui.conftest import person


def many_incidents(org, api, crew, count=1000):
    statuses = ["triggered", "acknowledged", "resolved", "resolved"]
    incidents = Incident.objects.bulk_create(
        [
            Incident(
                id=uuid.uuid4(),
                organization=org,
                service=api,
                title=f"Incident {n}",
                status=statuses[n % 4],
            )
            for n in range(count)
        ]
    )
    IncidentAssignment.objects.bulk_create(
        [
            IncidentAssignment(organization=org, incident=incident, user=crew.responder)
            for incident in incidents[::3]
        ]
    )
    return incidents


def test_incident_list_with_1000_incidents(login, crew, api, org_a, django_assert_max_num_queries):
    many_incidents(org_a, api, crew)
    client = login(crew.responder)
    with django_assert_max_num_queries(19):
        response = client.get(reverse("incident-list"))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 25
    with django_assert_max_num_queries(19):
        client.get(reverse("incident-list"), {"status": "open", "assignee": "me", "page": 3})


def test_incident_page_with_a_long_timeline(
    login, crew, api, org_a, open_incident, django_assert_max_num_queries
):
    many_incidents(org_a, api, crew, count=200)
    incident = open_incident()
    IncidentUpdate.objects.bulk_create(
        [
            IncidentUpdate(
                organization=org_a,
                incident=incident,
                update_type="note",
                message=f"n{n}",
                user=crew.manager,
            )
            for n in range(150)
        ]
    )
    NotificationHistory.objects.bulk_create(
        [
            NotificationHistory(
                organization=org_a,
                incident=incident,
                user=crew.responder,
                channel="email",
                target="r@acme.example",
                idempotency_key=f"k{n}",
                status="sent",
            )
            for n in range(100)
        ]
    )
    for other in (crew.manager, crew.admin):
        lifecycle.reassign_to_user(incident, other, crew.responder)
    client = login(crew.responder)
    url = reverse("incident-detail", args=[incident.pk])
    # 22 + the linked monitor's alert and the linked status-page incidents (monitoring/,
    # statuspages/responder_views.py; test_monitor_performance covers them when present),
    # + the timeline's count (only a timeline longer than the page shows pays it).
    with django_assert_max_num_queries(25):
        response = client.get(url)
    assert response.status_code == 200 and len(response.context["timeline"]) == 50
    total = response.context["timeline_info"].total
    assert total >= 250 and f"Show all {total} entries</a>" in response.content.decode()
    with django_assert_max_num_queries(25):
        everything = client.get(url, {"timeline": "all"})
    assert len(everything.context["timeline"]) == total
    with django_assert_max_num_queries(18):
        client.get(reverse("incident-live", args=[incident.pk]), {"timeline": "all"})


def test_oncall_page_with_many_schedules_and_policies(
    login, crew, org_a, django_assert_max_num_queries
):
    start = timezone.now() - dt.timedelta(days=2)
    people = [person(f"p{n}@acme.example") for n in range(6)]
    for user in people:
        OrganizationMember.objects.create(organization=org_a, user=user, role="responder")
    schedules = []
    for n in range(10):
        schedule = OnCallSchedule.objects.create(organization=org_a, name=f"Rotation {n}")
        layer = ScheduleLayer.objects.create(
            organization=org_a, schedule=schedule, rotation_unit="days", rotation_start=start
        )
        for index, user in enumerate(people[n % 3 : n % 3 + 3]):
            ScheduleLayerMember.objects.create(
                organization=org_a, layer=layer, user=user, position=index
            )
        schedules.append(schedule)
    for n in range(10):
        policy(org_a, [[schedules[n]], [people[n % 6], crew.admin]], name=f"Policy {n}")
    client = login(crew.viewer)
    with django_assert_max_num_queries(18):
        response = client.get(reverse("oncall"))
    assert response.status_code == 200
    assert len(response.context["schedules"]) == 10 and len(response.context["policies"]) == 10
    with django_assert_max_num_queries(24):
        client.get(reverse("schedule-detail", args=[schedules[0].pk]))


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def rotations(org, people, numbers: range, start: dt.datetime) -> None:
    """Daily rotations of ``people``, each with an override for the first of them."""
    for n in numbers:
        schedule = OnCallSchedule.objects.create(organization=org, name=f"Rotation {n:02}")
        layer = ScheduleLayer.objects.create(
            organization=org, schedule=schedule, rotation_unit="days", rotation_start=start
        )
        for index, user in enumerate(people):
            ScheduleLayerMember.objects.create(
                organization=org, layer=layer, user=user, position=index
            )
        ScheduleOverride.objects.create(
            organization=org,
            schedule=schedule,
            user=people[0],
            start_at=start + dt.timedelta(days=3, hours=n),
            end_at=start + dt.timedelta(days=3, hours=n + 2),
        )


def test_my_shifts_queries_do_not_grow_with_shifts(
    login, crew, org_a, django_assert_max_num_queries
):
    start = timezone.now() - dt.timedelta(days=1)
    people = [crew.responder, crew.manager]
    client = login(crew.responder)
    url = reverse("my-shifts")
    rotations(org_a, people, range(1), start)
    queries_for(client, url)  # warm per-process caches
    few = queries_for(client, url)
    rotations(org_a, people, range(1, 15), start)
    # 10 per request + the shifts (one statement over every schedule) + their schedules.
    with django_assert_max_num_queries(13):
        response = client.get(url)
    shifts = response.context["shifts"]
    assert len({shift.schedule_id for shift in shifts}) == 15 and len(shifts) > 15 * 12
    assert queries_for(client, url) == few
    assert response.content.decode().count('href="/oncall/schedules/') >= len(shifts)


def test_profile_queries_do_not_grow_with_contact_methods_and_rules(
    login, crew, org_a, django_assert_max_num_queries
):
    user = crew.responder
    client = login(user)
    url = reverse("profile")

    def add(count: int, offset: int) -> None:
        for n in range(offset, offset + count):
            method = UserContactMethod.objects.create(
                user=user, method_type="email", value=f"r{n}@acme.example", label=f"box {n}"
            )
            NotificationRule.objects.create(
                organization=org_a, user=user, contact_method=method, start_delay_minutes=n
            )

    add(1, 0)
    queries_for(client, url)
    few = queries_for(client, url)
    add(30, 1)
    # 10 per request + switcher + methods, preference, rules (with their methods), the
    # rule form's method choices.
    with django_assert_max_num_queries(15):
        response = client.get(url)
    assert len(response.context["methods"]) == 31 and len(response.context["rules"]) == 31
    page = response.content.decode()
    assert page.count("Send test notification") == 31 and "r30@acme.example" in page
    assert queries_for(client, url) == few
