"""Django admin respects the organization and the member's role."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from accounts.models import OrganizationMember, UserActivityLog
from incidents.models import (
    EscalationPolicy,
    OnCallSchedule,
    ScheduleLayer,
    Service,
)
from tests.incidents.factories import member, service


def test_access_by_role(login, crew):
    index = reverse("admin:index")
    assert login(crew.responder).get(index).status_code == 302  # to the admin login
    assert login(crew.viewer).get(index).status_code == 302
    assert login(crew.manager).get(index).status_code == 200
    assert login(crew.admin).get(index).status_code == 200


def test_staff_viewer_reads_but_cannot_edit(login, crew, api):
    crew.viewer.is_staff = True
    crew.viewer.save()
    client = login(crew.viewer)
    assert client.get(reverse("admin:incidents_service_changelist")).status_code == 200
    change = reverse("admin:incidents_service_change", args=[api.pk])
    page = client.get(change).content.decode()
    assert 'name="name"' not in page  # read-only view
    response = client.post(change, {"name": "Renamed"})
    assert response.status_code == 403
    assert client.get(reverse("admin:incidents_service_add")).status_code == 403


def test_manager_sees_only_own_organization(login, crew, api, org_b):
    service(org_b, name="Globex billing")
    page = login(crew.manager).get(reverse("admin:incidents_service_changelist")).content
    assert b"API" in page and b"Globex billing" not in page
    foreign = Service.objects.get(name="Globex billing")
    response = login(crew.manager).get(reverse("admin:incidents_service_change", args=[foreign.pk]))
    assert response.status_code == 302  # Django admin: "doesn't exist", back to the index


def test_manager_creates_a_policy_with_levels_in_the_organization(login, crew, org_a, org_b):
    outsider = member(org_b, "eve@globex.example")
    client = login(crew.manager)
    add = reverse("admin:incidents_escalationpolicy_add")
    form = client.get(add).content.decode()
    assert str(outsider.pk) not in form
    response = client.post(
        add,
        {
            "name": "Checkout",
            "description": "",
            "repeat_count": "0",
            "handoff_policy": "",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "rules-0-position": "0",
            "rules-0-delay_minutes": "15",
            "rules-0-targets-TOTAL_FORMS": "0",
            "rules-0-targets-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = EscalationPolicy.objects.get(name="Checkout")
    assert created.organization == org_a
    assert created.rules.get().organization == org_a


def test_schedule_problems_are_reported_on_save(login, crew, org_a):
    client = login(crew.manager)
    response = client.post(
        reverse("admin:incidents_oncallschedule_add"),
        {
            "name": "Nights",
            "description": "",
            "time_zone": "Europe/Paris",
            "layers-TOTAL_FORMS": "1",
            "layers-INITIAL_FORMS": "0",
            "layers-0-name": "Empty layer",
            "layers-0-position": "0",
            "layers-0-rotation_unit": "weeks",
            "layers-0-rotation_length": "1",
            "layers-0-rotation_start_0": "2026-01-05",
            "layers-0-rotation_start_1": "09:00:00",
            "layers-0-memberships-TOTAL_FORMS": "0",
            "layers-0-memberships-INITIAL_FORMS": "0",
            "layers-0-restrictions-TOTAL_FORMS": "0",
            "layers-0-restrictions-INITIAL_FORMS": "0",
            "overrides-TOTAL_FORMS": "0",
            "overrides-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    schedule = OnCallSchedule.objects.get(name="Nights")
    assert schedule.organization == org_a
    assert ScheduleLayer.objects.get(schedule=schedule).organization == org_a
    shown = [str(m) for m in response.context["messages"]]
    assert any("has no participants" in m for m in shown), shown


def test_only_admins_manage_members(login, crew, make_user):
    newcomer = make_user("new@example.com")
    add = reverse("admin:accounts_organizationmember_add")
    assert login(crew.manager).get(add).status_code == 403
    assert login(crew.manager).post(add, {"email": newcomer.email}).status_code == 403
    response = login(crew.admin).post(add, {"email": newcomer.email, "role": "responder"})
    assert response.status_code == 302
    assert OrganizationMember.objects.filter(user=newcomer, role="responder").exists()
    assert UserActivityLog.objects.filter(activity_type="member_added").exists()
    unknown = login(crew.admin).post(add, {"email": "nobody@example.com", "role": "viewer"})
    assert unknown.status_code == 200 and "No account" in unknown.content.decode()


def test_last_admin_cannot_be_demoted(login, crew):
    membership = OrganizationMember.objects.get(user=crew.admin)
    response = login(crew.admin).post(
        reverse("admin:accounts_organizationmember_change", args=[membership.pk]),
        {"role": "viewer"},
    )
    assert response.status_code == 200 and "at least one admin" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "admin"


def test_resolve_action_uses_the_lifecycle(login, crew, open_incident):
    first, second = open_incident("One"), open_incident("Two")
    client = login(crew.manager)
    response = client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "resolve_selected", "_selected_action": [str(first.pk), str(second.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.status == "resolved" and first.resolved_by == crew.manager
    assert first.updates.filter(update_type="status_change", status="resolved").exists()


def test_audit_views_are_read_only(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.manager)
    for name in ("incidentupdate", "notificationhistory", "incidentescalation"):
        assert client.get(reverse(f"admin:incidents_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:incidents_{name}_add")).status_code == 403
    log = reverse("admin:accounts_useractivitylog_changelist")
    assert client.get(log).status_code == 200
    update = incident.updates.first()
    response = client.post(
        reverse("admin:incidents_incidentupdate_change", args=[update.pk]), {"message": "x"}
    )
    assert response.status_code == 403


def test_every_admin_page_renders_for_a_manager(login, crew, open_incident, schedule, org_a):
    incident = open_incident()
    policy_ = incident.service.escalation_policy
    client = login(crew.manager)
    for name, args in [
        ("incidents_service_add", []),
        ("incidents_escalationpolicy_change", [policy_.pk]),
        ("incidents_oncallschedule_change", [schedule.pk]),
        ("incidents_incident_change", [incident.pk]),
        ("accounts_teamgroup_add", []),
        ("incidents_notificationrule_add", []),
    ]:
        assert client.get(reverse(f"admin:{name}", args=args)).status_code == 200, name


def test_override_inline_records_who_created_it(login, crew, schedule):
    start = timezone.now() + dt.timedelta(days=1)
    layer = schedule.layers.get()
    client = login(crew.manager)
    data = {
        "name": schedule.name,
        "description": "",
        "time_zone": "UTC",
        "layers-TOTAL_FORMS": "1",
        "layers-INITIAL_FORMS": "1",
        "layers-0-id": str(layer.pk),
        "layers-0-schedule": str(schedule.pk),
        "layers-0-name": layer.name,
        "layers-0-position": "0",
        "layers-0-rotation_unit": "days",
        "layers-0-rotation_length": "1",
        "layers-0-rotation_start_0": layer.rotation_start.strftime("%Y-%m-%d"),
        "layers-0-rotation_start_1": layer.rotation_start.strftime("%H:%M:%S"),
        "layers-0-memberships-TOTAL_FORMS": "0",
        "layers-0-memberships-INITIAL_FORMS": "0",
        "layers-0-restrictions-TOTAL_FORMS": "0",
        "layers-0-restrictions-INITIAL_FORMS": "0",
        "overrides-TOTAL_FORMS": "1",
        "overrides-INITIAL_FORMS": "0",
        "overrides-0-user": str(crew.admin.pk),
        "overrides-0-start_at_0": start.strftime("%Y-%m-%d"),
        "overrides-0-start_at_1": "09:00:00",
        "overrides-0-end_at_0": start.strftime("%Y-%m-%d"),
        "overrides-0-end_at_1": "17:00:00",
    }
    response = client.post(
        reverse("admin:incidents_oncallschedule_change", args=[schedule.pk]), data
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    override = schedule.overrides.get()
    assert override.created_by == crew.manager and override.organization == schedule.organization
