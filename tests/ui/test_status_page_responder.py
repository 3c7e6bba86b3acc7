"""Status pages in the responder app: publishing from an incident, posting updates, the list."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import UserActivityLog
from incidents import lifecycle
from monitoring.engine import record_results
from statuspages.models import (
    Component,
    StatusPageIncident,
    StatusPageIncidentUpdate,
    SubscriberNotification,
)
from tests.incidents.factories import member
from tests.monitoring.factories import location, make_check, result
from tests.statuspages.conftest import build_page


@pytest.fixture
def setup(org_a, api):
    built = build_page(org_a, "acme", name="Acme Status")
    # The responder fixtures' service ("API") drives the page's API component.
    from statuspages.models import ComponentService

    ComponentService.objects.create(organization=org_a, component=built.api, service=api)
    return built


def publish(client, incident, page, **fields):
    data = {
        "status_page": str(page.pk),
        "name": fields.pop("name", incident.title),
        "status": fields.pop("status", "investigating"),
        "impact": fields.pop("impact", "major"),
        "message": fields.pop("message", "We are looking into errors."),
        "deliver_notifications": "on",
        **fields,
    }
    return client.post(
        reverse("status-page-publish-from-incident", args=[incident.pk]), data, follow=True
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_incident_page_offers_the_publish_form_prefilled(login, crew, setup, open_incident):
    incident = open_incident("Checkout errors", severity="critical")
    response = login(crew.responder).get(reverse("incident-detail", args=[incident.pk]))
    form = response.context["publish_form"]
    assert form["name"].value() == "Checkout errors"
    assert form["status_page"].value() == setup.page.pk
    assert form["impact"].value() == "critical"
    # The component linked to the incident's service is preselected at the severity's status.
    assert form[f"component-{setup.api.pk}"].value() == "major_outage"
    assert form[f"component-{setup.db.pk}"].value() == ""
    page = response.content.decode()
    assert "Publish to status page</button>" in page
    # The selects as sent: the held status selected, the others "Not affected".
    api_select = re.search(rf'<select name="component-{setup.api.pk}"[^>]*>(.*?)</select>', page)
    assert api_select and '<option value="major_outage" selected>' in api_select[1]
    db_select = re.search(rf'<select name="component-{setup.db.pk}"[^>]*>(.*?)</select>', page)
    assert db_select and '<option value="" selected>Not affected</option>' in db_select[1]
    viewer = login(crew.viewer).get(reverse("incident-detail", args=[incident.pk]))
    assert viewer.context["publish_form"] is None
    assert "Publish to status page" not in viewer.content.decode()


def test_publish_in_one_step_then_post_updates(login, crew, setup, open_incident):
    incident = open_incident("Checkout errors")
    client = login(crew.responder)
    response = publish(
        client,
        incident,
        setup.page,
        message="**Checkout** is failing for some customers.",
        **{f"component-{setup.db.pk}": "partial_outage", f"component-{setup.web.pk}": ""},
    )
    assert messages_of(response) == ["Published on Acme Status: Investigating."]
    published = StatusPageIncident.objects.get(incident=incident)
    assert (published.status, published.impact, published.name) == (
        "investigating",
        "major",
        "Checkout errors",
    )
    setup.db.refresh_from_db()
    assert setup.db.status == "partial_outage"
    page = response.content.decode()
    assert "<strong>Checkout</strong> is failing" in page  # Markdown rendered
    assert "Post update</button>" in page and "Publish to status page" not in page

    # A double click (same form again) does not open a second public incident.
    again = publish(client, incident, setup.page)
    assert "Already on Acme Status" in messages_of(again)[0]
    assert StatusPageIncident.objects.filter(incident=incident).count() == 1

    url = reverse("status-page-update-from-incident", args=[incident.pk, published.pk])
    update = {"status": "identified", "message": "A bad deploy; rolling back.",
              f"component-{setup.db.pk}": "degraded_performance"}  # fmt: skip
    response = client.post(url, update, follow=True)
    assert messages_of(response) == ["Update posted on Acme Status: Identified."]
    assert client.post(url, update, follow=True).context["messages"]  # double click
    assert published.updates.count() == 2
    published.refresh_from_db()
    setup.db.refresh_from_db()
    assert published.status == "identified" and setup.db.status == "degraded_performance"

    client.post(url, {"status": "resolved", "message": "All good now."})
    published.refresh_from_db()
    setup.db.refresh_from_db()
    assert published.status == "resolved" and setup.db.status == "operational"
    logged = UserActivityLog.objects.filter(activity_type__startswith="status_page_")
    assert sorted(logged.values_list("activity_type", flat=True)) == [
        "status_page_incident_published",
        "status_page_update_posted",
        "status_page_update_posted",
    ]
    # The public page shows the timeline.
    public = Client().get(reverse("statuspages:incident", args=["acme", published.pk]))
    assert "rolling back" in public.content.decode()


def test_subscribers_can_be_spared(login, crew, setup, open_incident, org_a):
    from statuspages.models import Subscriber

    Subscriber.objects.create(
        organization=org_a, status_page=setup.page, channel="email", target="c@example.com",
        confirmed_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    incident = open_incident()
    client = login(crew.responder)
    data = {"status_page": str(setup.page.pk), "name": "Quiet", "status": "investigating",
            "impact": "minor", "message": "Internal test"}  # fmt: skip
    client.post(reverse("status-page-publish-from-incident", args=[incident.pk]), data)
    update = StatusPageIncidentUpdate.objects.get(status_page_incident__incident=incident)
    assert update.deliver_notifications is False
    assert not SubscriberNotification.objects.exists()


def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    login, crew, setup, open_incident, org_a, org_b
):
    incident = open_incident()
    client = login(crew.responder)
    response = publish(client, incident, setup.page, message="   ", status="exploded")
    assert response.status_code == 400
    form = response.context["publish_form"]
    assert "message" in form.errors and "status" in form.errors
    assert "The status-page update was not posted" in response.content.decode()
    # Another organization's page, or a component of it, is refused.
    theirs = build_page(org_b, "globex")
    response = publish(client, incident, theirs.page)
    assert response.status_code == 400 and "status_page" in response.context["publish_form"].errors
    # A component of another organization's page, or of another of our pages: refused by
    # its field name, and nothing is published (no public incident, no component touched).
    ours = build_page(org_a, "acme-eu", name="Acme EU")
    for foreign in (theirs.api, ours.api):
        field = f"component-{foreign.pk}"
        chosen = {field: "major_outage", f"component-{setup.db.pk}": "degraded_performance"}
        response = publish(client, incident, setup.page, **chosen)
        assert response.status_code == 400
        errors = response.context["publish_form"].non_field_errors()
        assert any(error.startswith(f"{field}: not a component of Acme Status") for error in errors)
        assert f"{field}: not a component of Acme Status" in response.content.decode()
    assert not StatusPageIncident.objects.filter(incident=incident).exists()
    untouched = Component.objects.filter(pk__in=[theirs.api.pk, ours.api.pk, setup.db.pk])
    assert set(untouched.values_list("status", flat=True)) == {"operational"}
    # "Not affected" for a component the chooser showed before switching pages is harmless.
    response = publish(client, incident, setup.page, **{f"component-{ours.api.pk}": ""})
    assert response.status_code == 200
    assert StatusPageIncident.objects.filter(incident=incident).count() == 1


def test_update_errors_keep_the_text(login, crew, setup, open_incident):
    incident = open_incident()
    client = login(crew.responder)
    publish(client, incident, setup.page)
    published = StatusPageIncident.objects.get(incident=incident)
    url = reverse("status-page-update-from-incident", args=[incident.pk, published.pk])
    response = client.post(url, {"status": "bogus", "message": "Keep <this> text"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Keep &lt;this&gt; text" in page and "Keep <this>" not in page
    assert published.updates.count() == 1


def test_untrusted_text_is_escaped_or_sanitised(login, crew, setup, open_incident):
    incident = open_incident("<script>alert(1)</script>")
    client = login(crew.responder)
    publish(
        client,
        incident,
        setup.page,
        message="[click](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )
    page = client.get(reverse("incident-detail", args=[incident.pk])).content.decode()
    assert "<script>alert(1)" not in page
    assert "javascript:alert" not in page and "<img src=x" not in page


def test_viewer_cannot_publish_or_update(login, crew, setup, open_incident):
    incident = open_incident()
    response = publish(login(crew.viewer), incident, setup.page)
    assert response.status_code == 403
    assert not StatusPageIncident.objects.exists()
    publish(login(crew.responder), incident, setup.page)
    published = StatusPageIncident.objects.get()
    url = reverse("status-page-update-from-incident", args=[incident.pk, published.pk])
    response = login(crew.viewer).post(url, {"status": "resolved", "message": "x"})
    assert response.status_code == 403
    assert published.updates.count() == 1


def test_csrf_less_post_is_refused(crew, setup, open_incident):
    incident = open_incident()
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew.responder)
    response = client.post(
        reverse("status-page-publish-from-incident", args=[incident.pk]),
        {"status_page": str(setup.page.pk), "name": "x", "status": "investigating",
         "impact": "minor", "message": "x"},
    )  # fmt: skip
    assert response.status_code == 403
    assert not StatusPageIncident.objects.exists()


def test_other_organization_gets_404(client, crew, setup, open_incident, org_b):
    incident = open_incident("Acme secret")
    publish(Client(), incident, setup.page)  # anonymous: redirected to login, nothing written
    assert not StatusPageIncident.objects.exists()
    insider = Client()
    insider.force_login(crew.responder)
    publish(insider, incident, setup.page)
    published = StatusPageIncident.objects.get()
    outsider = member(org_b, "eve@globex.example", role="admin")
    client.force_login(outsider)
    theirs = build_page(org_b, "globex")
    response = publish(client, incident, theirs.page)
    assert response.status_code == 404
    url = reverse("status-page-update-from-incident", args=[incident.pk, published.pk])
    assert client.post(url, {"status": "resolved", "message": "x"}).status_code == 404
    assert published.updates.count() == 1
    listing = client.get(reverse("status-page-list")).content.decode()
    assert "Acme Status" not in listing and "Globex" in listing


def test_status_pages_list(login, crew, setup, open_incident, org_a):
    from statuspages.models import StatusPage

    StatusPage.objects.create(organization=org_a, name="<b>Internal</b>", slug="internal")
    incident = open_incident("Checkout errors")
    publish(login(crew.responder), incident, setup.page, impact="critical")
    response = login(crew.viewer).get(reverse("status-page-list"))
    assert response.status_code == 200
    rows = {row.page.slug: row for row in response.context["rows"]}
    assert rows["acme"].indicator == "critical" and rows["acme"].components == 3
    assert [sp.name for sp in rows["acme"].open_incidents] == ["Checkout errors"]
    assert rows["internal"].indicator == "none" and rows["internal"].components == 0
    page = response.content.decode()
    assert reverse("statuspages:page", args=["acme"]) in page
    assert "&lt;b&gt;Internal&lt;/b&gt;" in page
    assert "/admin/" not in page.split("<main>")[1]  # viewers get no admin links
    manager = login(crew.manager).get(reverse("status-page-list")).content.decode()
    assert reverse("admin:statuspages_statuspage_change", args=[setup.page.pk]) in manager


def test_incident_page_shows_the_linked_monitor(login, crew, org_a, api):
    check = make_check(org_a, "Checkout health", service=api, failure_threshold=1)
    east = location("us-east").pk
    record_results([(check.pk, east, result("up", ms=90))])
    (outcome,) = record_results([(check.pk, east, result("down", "connection refused", None))])
    assert outcome.incident_id is not None
    response = login(crew.viewer).get(reverse("incident-detail", args=[outcome.incident_id]))
    assert response.context["linked_monitor"] == check
    assert [r.status for r in response.context["monitor_results"]] == ["down", "up"]
    page = response.content.decode()
    assert "connection refused" in page
    assert reverse("monitor-detail", args=[check.pk]) in page
    assert '<svg class="chart"' in page
    lifecycle.resolve(response.context["incident"], crew.responder)
    assert (
        login(crew.viewer).get(reverse("incident-detail", args=[outcome.incident_id])).status_code
        == 200
    )


def component_selects(html: str) -> set[str]:
    return set(re.findall(r'<select name="component-([0-9a-f-]+)"', html))


def test_publish_form_holds_one_pages_components_and_fetches_another_on_demand(
    login, crew, setup, open_incident, org_a
):
    # Two more pages; "AAA Internal" sorts first but does not show the incident's service.
    other = build_page(org_a, "aaa-internal", name="AAA Internal")
    build_page(org_a, "beta", name="Beta")
    incident = open_incident("Checkout errors", severity="critical")
    client = login(crew.responder)
    response = client.get(reverse("incident-detail", args=[incident.pk]))
    page = response.content.decode()
    assert response.context["publish_form"]["status_page"].value() == setup.page.pk
    assert component_selects(page) == {str(c.pk) for c in (setup.api, setup.web, setup.db)}
    chooser = re.search(r'<select name="status_page"([^>]*)>(.*?)</select>', page, re.S)
    assert re.findall(r">([^<]+)</option>", chooser[2]) == ["AAA Internal", "Acme Status", "Beta"]
    url = reverse("status-page-publish-components", args=[incident.pk])
    assert f'hx-get="{url}"' in chooser[1] and 'hx-target="#sp-publish-components"' in chooser[1]

    # The chooser fetches the chosen page's selects, its service's component preselected.
    fragment = client.get(url, {"status_page": str(other.page.pk)}, headers={"HX-Request": "1"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and html.startswith('<div id="sp-publish-components"')
    assert component_selects(html) == {str(c.pk) for c in (other.api, other.web, other.db)}
    assert 'major_outage" selected' not in html
    back = client.get(url, {"status_page": str(setup.page.pk)}).content.decode()
    held = re.search(rf'<select name="component-{setup.api.pk}"[^>]*>(.*?)</select>', back)
    assert held and '<option value="major_outage" selected>' in held[1]

    # Posting validates against the page posted, not the one first shown.
    response = publish(
        client, incident, other.page, **{f"component-{other.db.pk}": "partial_outage"}
    )
    assert messages_of(response) == ["Published on AAA Internal: Investigating."]
    other.db.refresh_from_db()
    setup.db.refresh_from_db()
    assert (other.db.status, setup.db.status) == ("partial_outage", "operational")

    # An update to it refuses a component of the first page, by name, and writes nothing.
    published = StatusPageIncident.objects.get(incident=incident)
    update_url = reverse("status-page-update-from-incident", args=[incident.pk, published.pk])
    field = f"component-{setup.db.pk}"
    data = {"status": "identified", "message": "x", field: "degraded_performance"}
    response = client.post(update_url, data)
    assert response.status_code == 400
    assert f"{field}: not a component of AAA Internal" in response.content.decode()
    assert published.updates.count() == 1
    setup.db.refresh_from_db()
    assert setup.db.status == "operational"


def test_component_fragment_is_organization_scoped(
    client, login, crew, setup, open_incident, org_b
):
    incident = open_incident()
    theirs = build_page(org_b, "globex")
    url = reverse("status-page-publish-components", args=[incident.pk])
    responder = login(crew.responder)
    assert responder.get(url, {"status_page": str(theirs.page.pk)}).status_code == 404
    for garbage in ({"status_page": "page-1"}, {}):
        refused = responder.get(url, garbage)
        assert refused.status_code == 400 and b"status_page" in refused.content
    assert login(crew.viewer).get(url, {"status_page": str(setup.page.pk)}).status_code == 403
    outsider = member(org_b, "eve@globex.example", role="admin")
    client.force_login(outsider)
    for page in (theirs.page, setup.page):
        response = client.get(url, {"status_page": str(page.pk)})
        assert response.status_code == 404 and b"Acme" not in response.content
