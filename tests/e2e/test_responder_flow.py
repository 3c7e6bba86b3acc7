"""A responder's worst hour, in a real browser: log in, see the page arrive, acknowledge it,
watch the timeline, cover a shift."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User
from incidents import lifecycle
from incidents.models import OnCallSchedule, ScheduleLayer, ScheduleLayerMember
from tests.incidents.factories import policy, service

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


@pytest.fixture
def world(org_a):
    ana = User.objects.create_user("ana@acme.example", PASSWORD, full_name="Ana Responder")
    ben = User.objects.create_user("ben@acme.example", PASSWORD, full_name="Ben Backup")
    OrganizationMember.objects.create(organization=org_a, user=ana, role="responder")
    OrganizationMember.objects.create(organization=org_a, user=ben, role="responder")
    api = service(org_a, policy(org_a, [[ana]]), name="Checkout API")
    schedule = OnCallSchedule.objects.create(organization=org_a, name="Primary")
    layer = ScheduleLayer.objects.create(
        organization=org_a,
        schedule=schedule,
        rotation_unit="days",
        rotation_start=timezone.now() - dt.timedelta(days=1),
    )
    ScheduleLayerMember.objects.create(organization=org_a, layer=layer, user=ana, position=0)
    return {"ana": ana, "ben": ben, "api": api, "schedule": schedule}


def log_in(page, live_server, email):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.who")).to_contain_text(email)


def test_incident_appears_is_acknowledged_and_timeline_updates(page, live_server, world):
    log_in(page, live_server, "ana@acme.example")
    page.goto(f"{live_server.url}/incidents/")
    expect(page.locator(".empty")).to_contain_text("No incidents")

    # Another path (monitoring, the Events API) opens an incident while the page is open.
    incident = lifecycle.open_incident(world["api"], "Checkout <b>latency</b> high").incident
    row = page.locator(f"tr[data-incident='{incident.pk}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Checkout <b>latency</b> high")  # escaped, shown as text
    expect(row.locator(".badge")).to_have_text("Triggered")

    row.locator("a").click()
    page.locator("button", has_text="Acknowledge").dblclick()  # a double click acts once
    expect(page.locator("#incident-status")).to_have_text("Acknowledged")
    expect(page.locator("#messages")).to_contain_text("Acknowledged")
    expect(page.locator("#timeline")).to_contain_text("Acknowledged")
    assert incident.updates.filter(update_type="status_change").count() == 1

    # A teammate's note and resolve elsewhere show up without reloading.
    lifecycle.add_note(incident, world["ben"], "Rolled back the deploy")
    expect(page.locator("#timeline")).to_contain_text("Rolled back the deploy")
    lifecycle.resolve(incident, world["ben"])
    expect(page.locator("#incident-status")).to_have_text("Resolved")

    page.goto(f"{live_server.url}/incidents/")
    expect(page.locator(f"tr[data-incident='{incident.pk}'] .badge")).to_have_text("Resolved")


def test_list_updates_when_acknowledged_elsewhere(page, live_server, world):
    incident = lifecycle.open_incident(world["api"], "Queue backlog").incident
    log_in(page, live_server, "ben@acme.example")
    page.goto(f"{live_server.url}/incidents/")
    badge = page.locator(f"tr[data-incident='{incident.pk}'] .badge")
    expect(badge).to_have_text("Triggered")
    lifecycle.acknowledge(incident, world["ana"])
    expect(badge).to_have_text("Acknowledged")


def test_create_an_override_with_errors_shown_then_fixed(page, live_server, world):
    log_in(page, live_server, "ben@acme.example")
    page.goto(f"{live_server.url}/oncall/")
    page.click("text=Primary")
    expect(page.locator("h1")).to_have_text("Primary")

    form = page.locator("#override-form")
    form.locator("select[name=user]").select_option(label="Ben Backup")
    start = (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    form.locator("input[name=start_at]").fill(start)
    form.locator("input[name=end_at]").fill(start)  # ends when it starts: refused
    form.locator("button[type=submit]").click()
    expect(page.locator("#override-form .field-errors")).to_contain_text("must end after")

    form = page.locator("#override-form")
    form.locator("input[name=end_at]").fill(start.replace("T09:00", "T17:00"))
    form.locator("button[type=submit]").click()
    expect(page.locator("#messages")).to_contain_text("Override added")
    expect(page.locator("#overrides")).to_contain_text("Ben Backup")
    expect(page.locator(".bar.override")).to_have_count(1)
    assert world["schedule"].overrides.get().user == world["ben"]
