"""The escalation policy admin page in a real browser: django-nested-admin's script adds a
level, then a target inside that level, and one Save writes them all."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User
from incidents.models import EscalationPolicy

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


def test_manager_builds_a_policy_with_a_level_and_its_target(page, live_server, org_a):
    manager = User.objects.create_user("mia@acme.example", PASSWORD, full_name="Mia Manager")
    OrganizationMember.objects.create(organization=org_a, user=manager, role="manager")

    page.goto(f"{live_server.url}/login/?next=/admin/incidents/escalationpolicy/add/")
    page.fill("#id_username", manager.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.fill("#id_name", "Checkout")

    page.click("a.djn-add-handler.djn-model-incidents-escalationrule")
    page.fill("#id_rules-0-position", "0")
    page.fill("#id_rules-0-delay_minutes", "5")
    page.click("#rules-0 a.djn-add-handler.djn-model-incidents-escalationtarget")
    page.select_option("#id_rules-0-targets-0-target_type", "user")
    page.select_option("#id_rules-0-targets-0-user", str(manager.pk))
    page.click("input[name=_save]")

    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    created = EscalationPolicy.objects.get(name="Checkout")
    level = created.rules.get()
    assert level.delay_minutes == 5
    assert [t.user_id for t in level.targets.all()] == [manager.pk]
