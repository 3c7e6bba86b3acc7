"""The API keys page: organization admins list, create (key shown once) and revoke keys."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.api.keys import create_api_key, hash_api_key
from accounts.models import ApiKey, UserActivityLog
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

PAGE = "/settings/api-keys/"


def test_admin_creates_a_key_shown_once_that_works(login, crew, org_a):
    client = login(crew.admin)
    response = client.post(PAGE, {"name": "GitHub Actions", "read_only": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get(name="GitHub Actions")
    assert (key.organization, key.scope, key.created_by) == (org_a, "read", crew.admin)
    secret = response.context["new_key"]
    assert secret.startswith(key.prefix) and key.key_hash == hash_api_key(secret)
    page = response.content.decode()
    assert secret in page and "shown only this once" in page
    # Afterwards only the prefix is ever shown.
    listed = client.get(PAGE).content.decode()
    assert secret not in listed and f"{key.prefix}…" in listed and "Read-only" in listed
    # The key is real: it reads, and being read-only, it may not write.
    assert Api(secret).get("/api/v1/services/").status_code == 200
    assert Api(secret).post("/api/v1/services/", {"name": "x"}).status_code == 403
    row = UserActivityLog.objects.get(activity_type="api_key_created")
    assert (row.organization, row.user, row.object_id) == (org_a, crew.admin, key.pk)
    assert secret not in row.description and secret not in str(row.metadata)
    assert key.prefix in row.description


def test_read_write_key_when_the_box_is_not_ticked(login, crew):
    login(crew.admin).post(PAGE, {"name": "Terraform"})
    assert ApiKey.objects.get(name="Terraform").scope == "write"


def test_bad_name_is_a_400_naming_the_field_and_creates_nothing(login, crew):
    client = login(crew.admin)
    for name in ("", "   ", "x" * 201):
        response = client.post(PAGE, {"name": name})
        assert response.status_code == 400
        assert response.context["form"].errors["name"]
    assert not ApiKey.objects.exists()
    assert not UserActivityLog.objects.filter(activity_type="api_key_created").exists()


def test_list_shows_state_creator_and_last_use_and_escapes_names(login, crew, org_a, org_b):
    used = create_api_key(org_a, "<script>alert(1)</script>", created_by=crew.admin)
    Api(used.secret).get("/api/v1/services/")  # sets last_used_at
    revoked = create_api_key(org_a, "Old laptop").api_key
    client = login(crew.admin)
    client.post(reverse("api-key-revoke", args=[revoked.pk]), follow=True)  # shows the notice
    create_api_key(org_b, "Globex secret project")
    page = client.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert crew.admin.email in page and "never" not in page.split("Old laptop")[0]
    assert "revoked" in page.split("Old laptop")[1]
    assert "Globex secret project" not in page
    # Active keys first.
    assert page.index("&lt;script&gt;") < page.index("Old laptop")


def test_revoke_is_idempotent_logged_once_and_stops_the_key(login, crew, org_a):
    new = create_api_key(org_a, "CI", scope=ApiKey.Scope.WRITE)
    client = login(crew.admin)
    url = reverse("api-key-revoke", args=[new.api_key.pk])
    assert client.post(url).status_code == 302
    new.api_key.refresh_from_db()
    first = new.api_key.revoked_at
    assert first is not None
    assert Api(new.secret).get("/api/v1/services/").status_code == 401
    second = client.post(url, follow=True)
    assert "already revoked" in second.content.decode()
    new.api_key.refresh_from_db()
    assert new.api_key.revoked_at == first
    rows = UserActivityLog.objects.filter(activity_type="api_key_revoked")
    assert [(r.object_id, r.user, r.organization) for r in rows] == [
        (new.api_key.pk, crew.admin, org_a)
    ]


def test_revoke_with_htmx_swaps_the_row(login, crew, org_a):
    key = create_api_key(org_a, "CI").api_key
    response = login(crew.admin).post(
        reverse("api-key-revoke", args=[key.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith(f'<tr id="api-key-{key.pk}"') and "Revoked" in body


def test_revoke_needs_post(login, crew, org_a):
    key = create_api_key(org_a, "CI").api_key
    assert login(crew.admin).get(reverse("api-key-revoke", args=[key.pk])).status_code == 405
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize("role", ["viewer", "responder", "manager"])
def test_other_roles_get_403(login, crew, org_a, role):
    key = create_api_key(org_a, "CI").api_key
    client = login(getattr(crew, role))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"name": "Mine"}).status_code == 403
    assert client.post(reverse("api-key-revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None and ApiKey.objects.count() == 1
    assert "API keys</a>" not in client.get(reverse("incident-list")).content.decode()


def test_admin_sees_the_nav_link(login, crew):
    page = login(crew.admin).get(reverse("incident-list")).content.decode()
    assert f'href="{PAGE}"' in page


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_another_organizations_key_is_404(login, crew, org_b):
    foreign = create_api_key(org_b, "Globex").api_key
    response = login(crew.admin).post(reverse("api-key-revoke", args=[foreign.pk]))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert not UserActivityLog.objects.filter(activity_type="api_key_revoked").exists()


def test_csrf_is_enforced(crew, org_a):
    key = create_api_key(org_a, "CI").api_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew.admin)
    assert client.post(PAGE, {"name": "Sneaky"}).status_code == 403
    assert client.post(reverse("api-key-revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None and not ApiKey.objects.filter(name="Sneaky").exists()


def test_management_command_logs_the_creation_without_the_key(org_a):
    out = io.StringIO()
    call_command("create_api_key", organization="acme", name="Grafana", stdout=out, stderr=out)
    secret = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.get(name="Grafana")
    row = UserActivityLog.objects.get(activity_type="api_key_created")
    assert (row.organization, row.object_id, row.user) == (org_a, key.pk, None)
    assert row.metadata["via"] == "manage.py" and key.prefix in row.description
    assert secret.startswith(key.prefix) and secret not in row.description
