"""Customers' side in a real browser: the public status page turns red when a monitor fails
or a responder publishes an incident, and back to operational on resolution; the responder
posts those updates from the incident page."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from accounts.models import OrganizationMember, User
from incidents import lifecycle
from monitoring.engine import record_results
from statuspages.models import Component, ComponentService, StatusPage
from tests.incidents.factories import policy, service
from tests.monitoring.factories import location, make_check, result

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"
OPERATIONAL = "All Systems Operational"


@pytest.fixture
def world(org_a):
    ana = User.objects.create_user("ana@acme.example", PASSWORD, full_name="Ana Responder")
    OrganizationMember.objects.create(organization=org_a, user=ana, role="responder")
    api = service(org_a, policy(org_a, [[ana]]), name="Checkout API")
    internal = service(org_a, policy(org_a, [[ana]], name="Ops"), name="Batch jobs")
    page = StatusPage.objects.create(organization=org_a, name="Acme Status", slug="acme")
    checkout = Component.objects.create(
        organization=org_a, status_page=page, name="Checkout", position=0
    )
    ComponentService.objects.create(organization=org_a, component=checkout, service=api)
    database = Component.objects.create(
        organization=org_a, status_page=page, name="Database", position=1
    )
    check = make_check(org_a, "Checkout health", service=api, failure_threshold=1)
    Component.objects.filter(pk=checkout.pk).update(monitoring_check_id=check.pk)
    # A second page, first by name: the publish form starts on it for an incident no
    # component shows, and the responder switches to "Acme Status".
    staff = StatusPage.objects.create(organization=org_a, name="Acme Internal", slug="internal")
    build_farm = Component.objects.create(organization=org_a, status_page=staff, name="Builds")
    return {
        "ana": ana,
        "internal": internal,
        "page": page,
        "check": check,
        "database": database,
        "build_farm": build_farm,
    }


def log_in(page, live_server, email):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.who")).to_contain_text(email)


def reload_until_banner(page, url: str, indicator: str, text: str, timeout: float = 15) -> None:
    """The public page has no live channel: readers reload it. It is served with a short
    max-age, so a reload (which revalidates) is what shows news, as for a real reader."""
    banner = page.locator("section.banner")
    deadline = time.monotonic() + timeout
    if page.url != url:
        page.goto(url)
    while True:
        page.reload()
        classes = banner.get_attribute("class") or ""
        if f"banner-{indicator}" in classes.split() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    expect(banner).to_have_class(f"banner banner-{indicator}")
    expect(banner).to_contain_text(text)


def test_public_page_turns_red_when_a_monitor_fails_and_back(page, live_server, world):
    public = f"{live_server.url}/status/acme/"
    page.goto(public)
    expect(page.locator("section.banner")).to_contain_text(OPERATIONAL)
    green = page.locator("section.banner").evaluate("e => getComputedStyle(e).backgroundColor")

    east = location("us-east").pk
    (outcome,) = record_results([(world["check"].pk, east, result("down", "HTTP 503", None))])
    assert outcome.incident_id is not None  # the failure opened an incident, too

    reload_until_banner(page, public, "critical", "Major System Outage")
    expect(page.locator(".component", has_text="Checkout")).to_contain_text("Major outage")
    expect(page.locator(".component", has_text="Database")).to_contain_text("Operational")
    red = page.locator("section.banner").evaluate("e => getComputedStyle(e).backgroundColor")
    assert red != green

    record_results([(world["check"].pk, east, result("up", ms=80))])  # recovery resolves it
    reload_until_banner(page, public, "none", OPERATIONAL)
    expect(page.locator(".component", has_text="Checkout")).to_contain_text("Operational")


def test_responder_posts_status_page_updates_from_the_incident_page(page, live_server, world):
    incident = lifecycle.open_incident(world["internal"], "Replica lag on the primary DB").incident
    log_in(page, live_server, "ana@acme.example")
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")

    page.locator("summary", has_text="Post a status-page update").click()
    form = page.locator("#sp-publish-form")
    expect(form.locator("input[name=name]")).to_have_value("Replica lag on the primary DB")
    form.locator("input[name=name]").fill("Slow database queries")
    # The chooser starts on the first page; choosing another fetches its components.
    expect(form.locator(f"select[name='component-{world['build_farm'].pk}']")).to_have_count(1)
    form.locator("select[name=status_page]").select_option(label="Acme Status")
    components = form.locator("#sp-publish-components")
    expect(components).to_have_attribute("data-page", str(world["page"].pk))
    expect(form.locator(f"select[name='component-{world['build_farm'].pk}']")).to_have_count(0)
    form.locator("select[name=impact]").select_option("critical")
    form.locator(f"select[name='component-{world['database'].pk}']").select_option("major_outage")
    form.locator("textarea[name=message]").fill("We are investigating **slow** queries.")
    form.locator("button[type=submit]").dblclick()  # one public incident, whatever the clicks

    expect(page.locator("#messages")).to_contain_text("Published on Acme Status")
    panel = page.locator("#status-page")
    expect(panel.locator(".sp-incident h3")).to_contain_text("Slow database queries")
    expect(panel.locator(".sp-updates strong").first).to_have_text("Investigating")
    expect(panel.locator(".sp-body strong")).to_have_text("slow")  # Markdown, rendered
    assert incident.status_page_incidents.count() == 1

    public = page.context.new_page()
    reload_until_banner(
        public, f"{live_server.url}/status/acme/", "critical", "Major System Outage"
    )
    expect(public.locator(".component", has_text="Database")).to_contain_text("Major outage")
    expect(public.locator("main")).to_contain_text("Slow database queries")

    panel.locator("summary", has_text="Post an update").click()
    update = panel.locator("form[id^=sp-update-form]")
    update.locator("select[name=status]").select_option("resolved")
    update.locator(f"select[name='component-{world['database'].pk}']").select_option("")
    update.locator("textarea[name=message]").fill("Queries are fast again.")
    update.locator("button[type=submit]").click()
    expect(page.locator("#messages")).to_contain_text("Update posted on Acme Status: Resolved")
    expect(panel.locator(".sp-status")).to_have_text("Resolved")
    expect(panel.locator(".sp-updates li")).to_have_count(2)

    reload_until_banner(public, f"{live_server.url}/status/acme/", "none", OPERATIONAL)
    expect(public.locator(".component", has_text="Database")).to_contain_text("Operational")
