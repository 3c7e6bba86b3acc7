"""An organization admin makes an API key in the browser, copies it, uses it, revokes it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey, OrganizationMember, User
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


def test_create_copy_and_revoke_a_key(page, live_server, org_a):
    admin = User.objects.create_user("ada@acme.example", PASSWORD, full_name="Ada Admin")
    OrganizationMember.objects.create(organization=org_a, user=admin, role="admin")

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", admin.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.account >> text=API keys")
    page.fill("#id_name", "Deploys")
    page.click("#api-key-form button[type=submit]")

    secret = page.locator("#new-api-key-value").input_value()
    key = ApiKey.objects.get(name="Deploys")
    assert secret.startswith(key.prefix)
    assert Api(secret).get("/api/v1/services/").status_code == 200

    page.on("dialog", lambda dialog: dialog.accept())  # "Revoke …?"
    row = page.locator(f"#api-key-{key.pk}")
    row.locator("button", has_text="Revoke").click()
    expect(row).to_contain_text("revoked")  # swapped in place by htmx
    expect(page.locator("#new-api-key-value")).to_have_count(1)  # no reload happened
    assert Api(secret).get("/api/v1/services/").status_code == 401
