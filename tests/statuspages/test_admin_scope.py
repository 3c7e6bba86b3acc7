"""Admin of status pages by organization and role: a manager of one organization lists,
edits and picks only its own pages, components and groups; audit rows are read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.models import OrganizationMember
from accounts.roles import Role
from statuspages.models import (
    Component,
    ComponentStatusHistory,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentUpdate,
    Subscriber,
    SubscriberNotification,
)
from tests.monitoring.factories import make_check

from .conftest import build_page

pytestmark = pytest.mark.django_db

PAGES = "/admin/statuspages/statuspage/"
COMPONENTS = "/admin/statuspages/component/"
GONE = "exist. Perhaps it was deleted?"  # Django admin's message for a missing object


@pytest.fixture
def sign_in(client, make_user):
    def sign_in_as(organization, role: str, *, is_staff: bool = False, is_superuser=False):
        user = make_user(is_staff=is_staff or is_superuser, is_superuser=is_superuser)
        OrganizationMember.objects.create(organization=organization, user=user, role=role)
        client.force_login(user)
        return user

    return sign_in_as


def with_empty_inlines(client, url: str, data: dict) -> dict:
    """``data`` plus an empty management form for each inline the page shows."""
    page = client.get(url)
    assert page.status_code == 200
    for inline in page.context["inline_admin_formsets"]:
        data[f"{inline.formset.prefix}-TOTAL_FORMS"] = 0
        data[f"{inline.formset.prefix}-INITIAL_FORMS"] = 0
    return data


def page_form(page: StatusPage, **fields) -> dict:
    data = {"name": page.name, "slug": page.slug, "is_public": "on", "time_zone": "UTC"}
    data.update(fields)
    return data


def component_form(component: Component, **fields) -> dict:
    data = {
        "status_page": component.status_page_id,
        "group": component.group_id or "",
        "name": component.name,
        "status": component.status,
        "position": component.position,
        "showcase": "on",
        "monitoring_check_id": "",
    }
    data.update(fields)
    return data


def test_manager_lists_and_edits_only_own_pages(client, sign_in, setup_a, setup_b):
    sign_in(setup_a.organization, Role.MANAGER)
    listing = client.get(PAGES).content.decode()
    assert setup_a.page.slug in listing and setup_b.page.slug not in listing
    components = client.get(COMPONENTS).content.decode()
    assert setup_a.api.name in components and setup_b.api.name not in components
    url = f"{PAGES}{setup_a.page.pk}/change/"
    data = with_empty_inlines(client, url, page_form(setup_a.page, name="Acme status"))
    assert client.post(url, data).status_code == 302
    setup_a.page.refresh_from_db()
    assert setup_a.page.name == "Acme status"
    # The other organization's page and component are not there, to read or to write.
    for url in (f"{PAGES}{setup_b.page.pk}/change/", f"{COMPONENTS}{setup_b.api.pk}/change/"):
        assert GONE in client.get(url, follow=True).content.decode()
    hijack = client.post(
        f"{PAGES}{setup_b.page.pk}/change/", page_form(setup_b.page, name="Hijacked"), follow=True
    )
    assert GONE in hijack.content.decode()
    setup_b.page.refresh_from_db()
    assert setup_b.page.name == "Globex"


def test_new_page_belongs_to_the_active_organization(client, sign_in, setup_a, org_b):
    sign_in(setup_a.organization, Role.MANAGER)
    assert 'name="organization"' not in client.get(f"{PAGES}add/").content.decode()
    data = with_empty_inlines(
        client,
        f"{PAGES}add/",
        {"name": "New", "slug": "acme-new", "time_zone": "UTC", "organization": org_b.pk},
    )
    assert client.post(f"{PAGES}add/", data).status_code == 302
    assert StatusPage.objects.get(slug="acme-new").organization == setup_a.organization


@pytest.mark.parametrize(
    ("field", "theirs"),
    [
        ("status_page", lambda b: b.page.pk),
        ("group", lambda b: b.api.group_id),
        ("monitoring_check_id", lambda b: make_check(b.organization, "Theirs").pk),
    ],
)
def test_other_organizations_rows_cannot_be_picked(
    client, sign_in, setup_a, setup_b, field, theirs
):
    sign_in(setup_a.organization, Role.MANAGER)
    url = f"{COMPONENTS}{setup_a.api.pk}/change/"
    data = with_empty_inlines(client, url, component_form(setup_a.api, **{field: theirs(setup_b)}))
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the field named
    assert field in response.context["adminform"].form.errors
    after = Component.objects.get(pk=setup_a.api.pk)
    assert (after.status_page_id, after.group_id, after.monitoring_check_id) == (
        setup_a.page.pk,
        setup_a.api.group_id,
        None,
    )


def test_component_links_to_an_own_check(client, sign_in, setup_a):
    sign_in(setup_a.organization, Role.MANAGER)
    check = make_check(setup_a.organization, "Ours")
    url = f"{COMPONENTS}{setup_a.api.pk}/change/"
    data = with_empty_inlines(
        client, url, component_form(setup_a.api, monitoring_check_id=check.pk)
    )
    assert client.post(url, data).status_code == 302
    setup_a.api.refresh_from_db()
    assert setup_a.api.monitoring_check_id == check.pk
    assert "Ours" in client.get(url).content.decode()  # offered by name


def test_choices_and_lists_are_filtered_by_the_orm_not_only_by_rls(sign_in, setup_a, setup_b):
    """Run as the schema owner (RLS bypassed): what is hidden, the admin's ORM filter hid."""
    manager = sign_in(setup_a.organization, Role.MANAGER)
    other_page = build_page(setup_a.organization, "acme-other")  # same org, another page
    request = RequestFactory().get(COMPONENTS)
    request.user = manager
    request.membership = OrganizationMember.objects.get(user=manager)
    request.organization = setup_a.organization
    components = admin.site._registry[Component]
    assert set(components.get_queryset(request)) == {
        setup_a.api, setup_a.web, setup_a.db, other_page.api, other_page.web, other_page.db
    }  # fmt: skip
    form = components.get_form(request)()
    assert set(form.fields["status_page"].queryset) == {setup_a.page, other_page.page}
    assert setup_b.api.group not in form.fields["group"].queryset
    assert "organization" not in form.fields
    # A subscriber's component choices: that page's components only.
    subscriber = Subscriber.objects.create(
        organization=setup_a.organization,
        status_page=setup_a.page,
        channel="email",
        target="a@x.io",
    )
    subscribers = admin.site._registry[Subscriber]
    (inline,) = subscribers.get_inline_instances(request, subscriber)
    formset = inline.get_formset(request, subscriber)(instance=subscriber)
    choices = formset.empty_form.fields["component"].queryset
    assert set(choices) == {setup_a.api, setup_a.web, setup_a.db}
    # The status-page list filter offers this organization's pages only.
    changelist = components.get_changelist_instance(request)
    (page_filter,) = [f for f in changelist.filter_specs if f.title == "status page"]
    assert {pk for pk, _name in page_filter.lookup_choices} == {setup_a.page.pk, other_page.page.pk}


def test_viewer_reads_but_cannot_edit(client, sign_in, setup_a):
    sign_in(setup_a.organization, Role.VIEWER, is_staff=True)
    assert client.get(PAGES).status_code == 200
    url = f"{PAGES}{setup_a.page.pk}/change/"
    assert client.get(url).status_code == 200  # the read-only view
    assert client.post(url, page_form(setup_a.page, name="Renamed")).status_code == 403
    assert client.get(f"{PAGES}add/").status_code == 403
    assert client.get(f"{PAGES}{setup_a.page.pk}/delete/").status_code == 403
    setup_a.page.refresh_from_db()
    assert setup_a.page.name == "Acme"
    published = StatusPageIncident.objects.create(
        organization=setup_a.organization, status_page=setup_a.page, name="API errors"
    )
    StatusPageIncidentUpdate.objects.create(
        organization=setup_a.organization,
        status_page_incident=published,
        status="investigating",
        body="Looking <b>into</b> it",
    )
    incident_page = client.get(f"/admin/statuspages/statuspageincident/{published.pk}/change/")
    assert incident_page.status_code == 200
    assert "Looking &lt;b&gt;into&lt;/b&gt; it" in incident_page.content.decode()


def audit_rows(setup) -> dict[str, object]:
    subscriber = Subscriber.objects.create(
        organization=setup.organization, status_page=setup.page, channel="email", target="s@x.io"
    )
    history = ComponentStatusHistory.objects.create(
        organization=setup.organization,
        component=setup.api,
        status_page=setup.page,
        new_status="major_outage",
        reason="check failed",
    )
    notification = SubscriberNotification.objects.create(
        organization=setup.organization,
        subscriber=subscriber,
        status_page=setup.page,
        event="incident_update",
    )
    return {"componentstatushistory": history, "subscribernotification": notification}


@pytest.mark.parametrize("superuser", [False, True])
def test_audit_rows_cannot_be_added_changed_or_deleted(client, sign_in, setup_a, superuser):
    sign_in(
        setup_a.organization, Role.MANAGER if not superuser else Role.ADMIN, is_superuser=superuser
    )
    for model, row in audit_rows(setup_a).items():
        base = f"/admin/statuspages/{model}/"
        listing = client.get(base)
        assert listing.status_code == 200 and b"delete_selected" not in listing.content
        assert client.get(f"{base}add/").status_code == 403
        assert client.get(f"{base}{row.pk}/delete/").status_code == 403
        assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
        client.post(
            base, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        )
        assert type(row).objects.filter(pk=row.pk).exists(), model


def test_update_posted_from_the_incident_page_is_the_managers(client, sign_in, setup_a):
    manager = sign_in(setup_a.organization, Role.MANAGER)
    published = StatusPageIncident.objects.create(
        organization=setup_a.organization, status_page=setup_a.page, name="API errors"
    )
    url = f"/admin/statuspages/statuspageincident/{published.pk}/change/"
    data = with_empty_inlines(
        client,
        url,
        {
            "status_page": setup_a.page.pk,
            "name": "API errors",
            "status": "identified",
            "impact": "minor",
            "started_at_0": "2026-11-25",
            "started_at_1": "10:00:00",
        },
    )
    data.update(
        {
            "updates-TOTAL_FORMS": 1,
            "updates-0-status": "identified",
            "updates-0-body": "A bad deploy; rolling back.",
            "updates-0-display_at_0": "2026-11-25",
            "updates-0-display_at_1": "10:05:00",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"][1].formset.errors
    (update,) = StatusPageIncidentUpdate.objects.filter(status_page_incident=published)
    assert update.created_by == manager and update.organization_id == setup_a.organization.pk
    assert update.body == "A bad deploy; rolling back."
