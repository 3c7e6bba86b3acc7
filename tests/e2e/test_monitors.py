"""Monitors in a real browser: the list's htmx buttons swap their own row in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User
from monitoring.models import MonitoringCheck
from tests.monitoring.factories import make_check

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


def test_pause_and_resume_from_the_list_without_reload(page, live_server, org_a):
    ana = User.objects.create_user("ana@acme.example", PASSWORD, full_name="Ana Responder")
    OrganizationMember.objects.create(organization=org_a, user=ana, role="responder")
    check = make_check(org_a, "Checkout health")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ana@acme.example")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav.sections >> text=Monitors")

    row = page.locator(f"tr[data-monitor='{check.pk}']")
    expect(row.locator(".state")).to_have_text("Pending (no result yet)")
    page.evaluate("window.__marker = 1")  # gone if the page reloads
    row.locator("button", has_text="Pause").click()
    expect(row.locator(".state")).to_have_text("Paused")
    expect(row).to_contain_text("Checkout health paused.")
    assert MonitoringCheck.objects.get(pk=check.pk).is_paused
    row.locator("button", has_text="Resume").click()
    expect(row.locator(".state")).to_have_text("Pending (no result yet)")
    assert page.evaluate("window.__marker") == 1
    assert not MonitoringCheck.objects.get(pk=check.pk).is_paused
