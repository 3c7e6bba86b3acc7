"""Each request runs as the app role for the user's active organization."""

import pytest
from django.urls import reverse

from accounts.models import OrganizationMember, TeamGroup
from accounts.roles import Role


@pytest.fixture
def user_in_both(make_user, org_a, org_b):
    user = make_user("both@example.com", is_staff=True, is_superuser=True)
    OrganizationMember.objects.create(organization=org_a, user=user, role=Role.ADMIN)
    OrganizationMember.objects.create(organization=org_b, user=user, role=Role.VIEWER)
    TeamGroup.objects.create(organization=org_a, name="Alpha team")
    TeamGroup.objects.create(organization=org_b, name="Beta team")
    return user


def test_admin_list_shows_only_active_organizations_rows(client, user_in_both, org_b):
    client.force_login(user_in_both)
    page = client.get(reverse("admin:accounts_teamgroup_changelist")).content.decode()
    # First organization by name is the default: Acme.
    assert "Alpha team" in page and "Beta team" not in page

    response = client.post(reverse("switch-organization"), {"organization": "globex"})
    assert response.status_code == 302
    page = client.get(reverse("admin:accounts_teamgroup_changelist")).content.decode()
    assert "Beta team" in page and "Alpha team" not in page


def test_switching_to_a_foreign_organization_is_refused(client, admin_a, org_b):
    client.force_login(admin_a)
    client.post(reverse("switch-organization"), {"organization": org_b.slug})
    page = client.get(reverse("home")).content.decode()
    assert "Acme" in page and "Globex" not in page


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_with_email_case_insensitive(client, admin_a):
    response = client.post(
        reverse("login"), {"username": "Admin-A@Example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert "Acme" in client.get(reverse("home")).content.decode()
