"""Every REST API write lands in the organization's activity log (issue 7: every write).

The walk below calls each write endpoint once, in order, with an organization A key and
checks the one new ``user_activity_log`` row: its activity, object, organization, and the
key named by name and prefix, never by its secret. Incident creation and status changes
are recorded by the database triggers, and the API adds nothing there.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.api.keys import create_api_key
from accounts.models import ApiKey, OrganizationMember, UserActivityLog
from accounts.roles import Role
from tests.api.conftest import Api
from tests.incidents.factories import member

pytestmark = pytest.mark.django_db


def _rows_after(seen: set) -> list[UserActivityLog]:
    rows = [row for row in UserActivityLog.objects.order_by("created_at") if row.pk not in seen]
    seen.update(row.pk for row in rows)
    return rows


def _walk(w, settings) -> list[tuple]:
    """(method, url, body, expected activity, expected object id or None for "the new id")."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    start = timezone.now() + dt.timedelta(hours=2)
    return [
        ("post", "/api/v1/services/", {"name": "Checkout"}, "api.create", None),
        ("patch", "/api/v1/services/{new}/", {"description": "Payments"}, "api.update", "{new}"),
        (
            "post",
            "/api/v1/services/{new}/integrations/",
            {"name": "Prometheus", "kind": "alertmanager"},
            "api.integrations",
            "{new}",
        ),
        ("delete", "/api/v1/services/{new}/", None, "api.delete", "{new}"),
        ("post", "/api/v1/escalation-policies/", {"name": "Night"}, "api.create", None),
        ("put", "/api/v1/escalation-policies/{new}/", {"name": "Nights"}, "api.update", "{new}"),
        ("delete", "/api/v1/escalation-policies/{new}/", None, "api.delete", "{new}"),
        (
            "patch",
            f"/api/v1/schedules/{w.schedule.pk}/",
            {"name": "Days"},
            "api.update",
            w.schedule.pk,
        ),
        (
            "post",
            "/api/v1/incidents/",
            {"service": str(w.service.pk), "title": "Disk full"},
            "incident_created",  # the trigger's row, not a second one from the API
            None,
        ),
        ("post", "/api/v1/incidents/{new}/acknowledge/", None, "incident_status_changed", "{new}"),
        (
            "post",
            "/api/v1/incidents/{new}/notes/",
            {"message": "Cleaning up"},
            "api.notes",
            "{new}",
        ),
        ("post", "/api/v1/incidents/{new}/resolve/", None, "incident_status_changed", "{new}"),
        (
            "post",
            "/api/v1/checks/",
            {
                "name": "Homepage",
                "check_type": "http",
                "config": {"url": "http://127.0.0.1:9/"},
                "locations": ["us-east"],
            },
            "api.create",
            None,
        ),
        ("patch", "/api/v1/checks/{new}/", {"name": "Home"}, "api.update", "{new}"),
        ("post", "/api/v1/checks/{new}/run-now/", None, "api.run_now", "{new}"),
        ("post", "/api/v1/checks/{new}/pause/", None, "api.pause", "{new}"),
        ("post", "/api/v1/checks/{new}/resume/", None, "api.resume", "{new}"),
        ("delete", "/api/v1/checks/{new}/", None, "api.delete", "{new}"),
        ("post", "/api/v1/status-pages/", {"name": "Docs", "slug": "docs-a"}, "api.create", None),
        ("patch", "/api/v1/status-pages/{new}/", {"name": "Docs status"}, "api.update", "{new}"),
        ("delete", "/api/v1/status-pages/{new}/", None, "api.delete", "{new}"),
        (
            "post",
            "/api/v1/component-groups/",
            {"status_page": str(w.page.pk), "name": "Edge"},
            "api.create",
            None,
        ),
        (
            "post",
            "/api/v1/components/",
            {"status_page": str(w.page.pk), "name": "CDN"},
            "api.create",
            None,
        ),
        ("patch", "/api/v1/components/{new}/", {"description": "Static"}, "api.update", "{new}"),
        ("delete", "/api/v1/components/{new}/", None, "api.delete", "{new}"),
        (
            "post",
            "/api/v1/status-page-incidents/",
            {"status_page": str(w.page.pk), "name": "Slow pages", "body": "Looking."},
            "api.create",
            None,
        ),
        (
            "post",
            "/api/v1/status-page-incidents/{new}/updates/",
            {"status": "resolved", "body": "Fixed."},
            "api.updates",
            "{new}",
        ),
        (
            "patch",
            "/api/v1/status-page-incidents/{new}/",
            {"impact": "minor"},
            "api.update",
            "{new}",
        ),
        ("delete", "/api/v1/status-page-incidents/{new}/", None, "api.delete", "{new}"),
        (
            "post",
            "/api/v1/maintenance-windows/",
            {
                "status_page": str(w.page.pk),
                "name": "Upgrade",
                "scheduled_start": start.isoformat(),
                "scheduled_end": (start + dt.timedelta(hours=1)).isoformat(),
            },
            "api.create",
            None,
        ),
        (
            "patch",
            "/api/v1/maintenance-windows/{new}/",
            {"name": "DB upgrade"},
            "api.update",
            "{new}",
        ),
        ("delete", "/api/v1/maintenance-windows/{new}/", None, "api.delete", "{new}"),
        (
            "post",
            "/api/v1/subscribers/",
            {"status_page": str(w.page.pk), "channel": "email", "target": "ops@example.com"},
            "api.create",
            None,
        ),
        ("delete", "/api/v1/subscribers/{new}/", None, "api.delete", "{new}"),
    ]


def test_every_api_write_is_logged_once_with_the_key(full_world_a, full_world_b, settings):
    org_a, org_b = full_world_a.organization, full_world_b.organization
    new = create_api_key(org_a, "Deploy bot", scope=ApiKey.Scope.WRITE)
    api = Api(new.secret)
    seen = {row.pk for row in UserActivityLog.objects.all()}
    created_id = None
    for method, url, body, activity, object_id in _walk(full_world_a, settings):
        url = url.replace("{new}", str(created_id))
        response = getattr(api, method)(url, body) if body is not None else None
        if response is None:
            response = api.delete(url) if method == "delete" else api.post(url)
        assert response.status_code < 300, (url, response.content)
        rows = _rows_after(seen)
        assert [row.activity_type for row in rows] == [activity], (method, url, rows)
        row = rows[0]
        if object_id is None:
            created_id = response.json()["id"]
            expected = created_id
        else:
            expected = created_id if object_id == "{new}" else object_id
        assert str(row.object_id) == str(expected), (method, url)
        assert row.organization_id == org_a.pk
        assert row.user_id is None  # a key is not a person
        assert new.secret not in row.description and new.secret not in str(row.metadata)
        if activity.startswith("api."):
            assert row.metadata["api_key"]["prefix"] == new.api_key.prefix
            assert row.metadata["api_key"]["name"] == "Deploy bot"
            assert new.api_key.prefix in row.description
    assert not UserActivityLog.objects.filter(
        organization=org_b, activity_type__startswith="api."
    ).exists()


def test_nested_write_names_the_new_row(api, world_a):
    before = UserActivityLog.objects.filter(activity_type="api.notes").count()
    note = api.post(f"/api/v1/incidents/{world_a.incident.pk}/notes/", {"message": "Rebooting"})
    assert note.status_code == 201
    row = UserActivityLog.objects.filter(activity_type="api.notes").latest("created_at")
    assert UserActivityLog.objects.filter(activity_type="api.notes").count() == before + 1
    assert row.object_type == "incidents" and row.object_id == world_a.incident.pk
    assert row.metadata["created"] == note.json()["id"]
    assert row.metadata["method"] == "POST"


def test_session_writes_name_the_member(client, world_a):
    manager = member(world_a.organization, "manager-a@example.com", role=Role.MANAGER)
    client.force_login(manager)
    response = client.patch(
        f"/api/v1/services/{world_a.service.pk}/",
        {"name": "Storefront"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    row = UserActivityLog.objects.get(activity_type="api.update")
    assert (row.user, row.organization_id) == (manager, world_a.organization.pk)
    assert row.description == "Updated service “Storefront”"
    assert "api_key" not in row.metadata


def test_from_header_names_the_member_a_key_acts_for(api, world_a, admin_a):
    response = api.post(
        f"/api/v1/incidents/{world_a.incident.pk}/notes/",
        {"message": "On it"},
        From="admin-a@example.com",
    )
    assert response.status_code == 201
    assert UserActivityLog.objects.get(activity_type="api.notes").user == admin_a


def test_reads_refusals_and_failures_log_nothing(api, read_api, world_a, world_b):
    before = UserActivityLog.objects.count()
    assert api.get("/api/v1/services/").status_code == 200
    assert api.get(f"/api/v1/incidents/{world_a.incident.pk}/notes/").status_code == 200
    assert (
        read_api.patch(f"/api/v1/services/{world_a.service.pk}/", {"name": "x"}).status_code == 403
    )
    assert api.post("/api/v1/services/", {"name": ""}).status_code == 400
    assert api.delete(f"/api/v1/services/{world_a.service.pk}/").status_code == 409  # incidents
    # Organization B's objects do not exist for A's key: 404, and nobody's log changes.
    assert api.patch(f"/api/v1/services/{world_b.service.pk}/", {"name": "Mine"}).status_code == 404
    assert (
        api.post(f"/api/v1/incidents/{world_b.incident.pk}/notes/", {"message": "x"}).status_code
        == 404
    )
    assert UserActivityLog.objects.count() == before


def test_a_member_of_two_organizations_logs_into_the_active_one(client, world_a, world_b):
    both = member(world_a.organization, "both@example.com", role=Role.MANAGER)
    OrganizationMember.objects.create(organization=world_b.organization, user=both, role="viewer")
    client.force_login(both)
    client.post("/organizations/switch/", {"organization": world_a.organization.slug})
    response = client.patch(
        f"/api/v1/services/{world_a.service.pk}/", {"name": "A's"}, content_type="application/json"
    )
    assert response.status_code == 200
    rows = UserActivityLog.objects.filter(activity_type="api.update")
    assert [(r.organization_id, r.user_id) for r in rows] == [(world_a.organization.pk, both.pk)]
