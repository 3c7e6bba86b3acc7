"""API keys: hashed at rest, shown once, scoped, revocable; and the browser session."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.api.keys import create_api_key
from accounts.models import ApiKey, OrganizationMember
from accounts.roles import Role
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_key_is_stored_only_as_its_hash(org_a):
    new = create_api_key(org_a, "CI")
    stored = ApiKey.objects.get(pk=new.api_key.pk)
    assert new.secret.startswith("a24_") and len(new.secret) == 44
    assert stored.key_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    assert stored.prefix == new.secret[:12]
    assert new.secret not in str(ApiKey.objects.filter(pk=stored.pk).values().first())


def test_management_command_prints_the_key_once(org_a, world_a):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key",
        organization="acme",
        read_only=True,
        name="Grafana",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    stored = ApiKey.objects.get(name="Grafana")
    assert stored.scope == "read" and stored.organization == org_a
    assert "not shown again" in err.getvalue()
    assert Api(key).get("/api/v1/services/").status_code == 200
    assert Api(key).post("/api/v1/services/", {"name": "x"}).status_code == 403


def test_management_command_refuses_unknown_organization(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No organization"):
        call_command("create_api_key", organization="nope", stdout=io.StringIO())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer a24_" + "x" * 40,
        "Bearer not-a-key",
        "Token token=a24_" + "y" * 40,
    ],
)
def test_missing_or_unknown_key_is_401_with_the_error_body(world_a, header):
    headers = {"Authorization": header} if header else {}
    response = Client().get("/api/v1/incidents/", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] in {"not_authenticated", "authentication_failed"}
    assert error["message"]


def test_pagerduty_style_token_header_is_accepted(key_a, world_a):
    response = Client().get("/api/v1/incidents/", headers={"Authorization": f"Token token={key_a}"})
    assert response.status_code == 200


def test_revoked_key_is_401(org_a, world_a):
    new = create_api_key(org_a, "old", scope="write")
    assert Api(new.secret).get("/api/v1/incidents/").status_code == 200
    ApiKey.objects.filter(pk=new.api_key.pk).update(revoked_at=timezone.now())
    response = Api(new.secret).get("/api/v1/incidents/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_read_only_key_can_read_but_not_write(read_api, world_a):
    incident = world_a.incident
    assert read_api.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
    for url, body in [
        ("/api/v1/incidents/", {"service": str(world_a.service.pk), "title": "x"}),
        (f"/api/v1/incidents/{incident.pk}/acknowledge/", None),
        (f"/api/v1/incidents/{incident.pk}/resolve/", None),
        (f"/api/v1/incidents/{incident.pk}/notes/", {"message": "hi"}),
        ("/api/v1/services/", {"name": "New"}),
        ("/api/v1/escalation-policies/", {"name": "New"}),
        ("/api/v1/schedules/", {"name": "New"}),
    ]:
        response = read_api.post(url, body)
        assert response.status_code == 403, url
        assert response.json()["error"] == {
            "code": "permission_denied",
            "message": "This API key is read-only.",
        }
    assert read_api.delete(f"/api/v1/services/{world_a.service.pk}/").status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_last_used_at_is_touched_at_most_once_a_minute(org_a, world_a):
    new = create_api_key(org_a, "ci")
    assert new.api_key.last_used_at is None
    Api(new.secret).get("/api/v1/services/")
    first = ApiKey.objects.get(pk=new.api_key.pk).last_used_at
    assert first is not None
    Api(new.secret).get("/api/v1/services/")
    assert ApiKey.objects.get(pk=new.api_key.pk).last_used_at == first


def test_session_member_reads_and_role_limits_writes(client, admin_a, world_a, make_user, org_a):
    client.force_login(admin_a)
    assert client.get("/api/v1/incidents/").status_code == 200
    viewer = make_user("viewer@example.com")
    OrganizationMember.objects.create(organization=org_a, user=viewer, role=Role.VIEWER)
    viewer_client = Client(enforce_csrf_checks=False)
    viewer_client.force_login(viewer)
    assert viewer_client.get("/api/v1/services/").status_code == 200
    response = viewer_client.post(
        f"/api/v1/incidents/{world_a.incident.pk}/acknowledge/", content_type="application/json"
    )
    assert response.status_code == 403
    response = client.post(
        f"/api/v1/incidents/{world_a.incident.pk}/acknowledge/", content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == str(admin_a.pk)


def test_session_writes_need_the_csrf_token(admin_a, world_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_a)
    response = client.post(
        f"/api/v1/incidents/{world_a.incident.pk}/acknowledge/", content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_signed_in_user_without_membership_is_refused(client, make_user, world_a):
    client.force_login(make_user("nobody@example.com"))
    assert client.get("/api/v1/incidents/").status_code == 403
