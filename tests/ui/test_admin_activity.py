"""Every Django admin write lands in the organization's activity log (issue 7: every write).

The walk opens the change page of one object of every registered model admin and saves it
back exactly as the browser would (the page's own form fields), then checks the
``admin.change`` row. Adds, deletes, inline adds and actions are checked on a
representative set, as is what must *not* be logged twice or at all (secrets).
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.admin import ActivityLoggedAdminMixin
from accounts.api.keys import create_api_key
from accounts.models import ApiKey, UserActivityLog
from incidents.models import Incident, NotificationRule, ScheduleOverride, Service
from tests.api.conftest import add_monitoring_and_pages, build_world
from tests.monitoring.factories import make_check
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """The name/value pairs a browser would submit from the page's main admin form."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self.inside = False


def form_data(page: str, form_id: str) -> dict[str, list[str]]:
    parser = _FormFields(form_id)
    parser.feed(page)
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def _new_rows(seen: set) -> list[UserActivityLog]:
    rows = [r for r in UserActivityLog.objects.order_by("created_at") if r.pk not in seen]
    seen.update(r.pk for r in rows)
    return rows


@pytest.fixture
def everything(org_a, org_b, crew):
    """A bit of every model in A (and in B, which must stay untouched), plus a key and a
    webhook endpoint."""
    world = add_monitoring_and_pages(build_world(org_a, "a"), "a")
    add_monitoring_and_pages(build_world(org_b, "b"), "b")
    create_api_key(org_a, "CI", created_by=crew.admin)
    NotificationRule.objects.create(
        organization=org_a,
        user=world.person,
        contact_method=world.person.contact_methods.first(),
        start_delay_minutes=5,
    )
    WebhookEndpoint.objects.create(
        organization=org_a, url="https://hooks.example.com/a", event_types=["incident.triggered"]
    )
    return world


REGISTERED = sorted(
    m._meta.label
    for m in admin.site._registry
    if any(f.name == "organization" for f in m._meta.fields)
)


@pytest.mark.parametrize("label", REGISTERED)
def test_saving_any_admin_object_is_logged(label, login, crew, everything, org_a, org_b):
    model = next(m for m in admin.site._registry if m._meta.label == label)
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, ActivityLoggedAdminMixin), type(model_admin).__name__
    client = login(crew.admin)
    obj = model._default_manager.filter(organization=org_a).first()
    if obj is None:
        pytest.skip(f"no {label} in the test organization")
    info = model._meta.app_label, model._meta.model_name
    url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    if 'name="_save"' not in page.content.decode():
        pytest.skip(f"{label} is read-only in admin (written by the application)")
    seen = set(UserActivityLog.objects.values_list("pk", flat=True))
    data = form_data(page.content.decode(), f"{model._meta.model_name}_form")
    response = client.post(url, {**data, "_save": "Save"})
    assert response.status_code == 302, response.content.decode()[:3000]
    rows = _new_rows(seen)
    if getattr(model_admin, "activity_logged_elsewhere", False):
        assert all(not r.activity_type.startswith("admin.") for r in rows)
        return
    changes = [r for r in rows if r.activity_type == "admin.change"]
    assert len(changes) == 1, [(r.activity_type, r.description) for r in rows]
    row = changes[0]
    assert (row.organization_id, row.user_id, row.object_id) == (org_a.pk, crew.admin.pk, obj.pk)
    assert row.object_type == model._meta.db_table
    assert not UserActivityLog.objects.filter(organization=org_b, pk__in=[r.pk for r in rows])


def test_the_walk_covers_the_core_admins():
    logged = {
        m._meta.label
        for m, model_admin in admin.site._registry.items()
        if isinstance(model_admin, ActivityLoggedAdminMixin)
    }
    assert {
        "incidents.Service",
        "incidents.EscalationPolicy",
        "incidents.OnCallSchedule",
        "accounts.ApiKey",
        "accounts.TeamGroup",
        "webhooks.WebhookEndpoint",
        "monitoring.MonitoringCheck",
        "statuspages.StatusPage",
        "statuspages.Component",
        "statuspages.MaintenanceWindow",
    } <= logged


def test_manager_renames_a_service(login, crew, api, org_a):
    client = login(crew.manager)
    url = reverse("admin:incidents_service_change", args=[api.pk])
    data = form_data(client.get(url).content.decode(), "service_form")
    data["name"] = ["Storefront"]
    assert client.post(url, data).status_code == 302
    row = UserActivityLog.objects.get(activity_type="admin.change")
    assert (row.user, row.organization, row.object_id) == (crew.manager, org_a, api.pk)
    assert row.description == "service “Storefront”: Changed Name."
    assert row.metadata["model"] == "incidents.service"


def test_add_and_delete_are_logged(login, crew, org_a):
    client = login(crew.manager)
    add = reverse("admin:incidents_service_add")
    data = form_data(client.get(add).content.decode(), "service_form")
    data["name"] = ["Checkout"]
    assert client.post(add, data).status_code == 302
    created = Service.objects.get(name="Checkout")
    row = UserActivityLog.objects.get(activity_type="admin.add")
    assert (row.object_id, row.organization, row.user) == (created.pk, org_a, crew.manager)
    assert row.description == "Added service “Checkout”"
    delete = reverse("admin:incidents_service_delete", args=[created.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    row = UserActivityLog.objects.get(activity_type="admin.delete")
    assert (row.object_id, row.organization, row.user) == (created.pk, org_a, crew.manager)


def test_bulk_delete_logs_each_object_once(login, crew, org_a):
    first = Service.objects.create(organization=org_a, name="One")
    second = Service.objects.create(organization=org_a, name="Two")
    client = login(crew.manager)
    response = client.post(
        reverse("admin:incidents_service_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    rows = UserActivityLog.objects.filter(organization=org_a, activity_type__startswith="admin.")
    assert sorted((r.activity_type, r.object_id) for r in rows) == sorted(
        [("admin.delete", first.pk), ("admin.delete", second.pk)]
    )


def test_override_added_inline_is_logged_on_the_schedule(login, crew, schedule, org_a):
    client = login(crew.manager)
    url = reverse("admin:incidents_oncallschedule_change", args=[schedule.pk])
    data = form_data(client.get(url).content.decode(), "oncallschedule_form")
    prefix = next(k for k in data if k.endswith("-TOTAL_FORMS") and "override" in k).split("-")[0]
    index = int(data[f"{prefix}-TOTAL_FORMS"][0])
    start = timezone.localtime() + dt.timedelta(days=1)
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": [str(index + 1)],
            f"{prefix}-{index}-user": [str(crew.responder.pk)],
            f"{prefix}-{index}-start_at_0": [start.strftime("%Y-%m-%d")],
            f"{prefix}-{index}-start_at_1": ["09:00:00"],
            f"{prefix}-{index}-end_at_0": [start.strftime("%Y-%m-%d")],
            f"{prefix}-{index}-end_at_1": ["17:00:00"],
            f"{prefix}-{index}-schedule": [str(schedule.pk)],
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ScheduleOverride.objects.filter(schedule=schedule).count() == 1
    row = UserActivityLog.objects.get(activity_type="admin.change")
    assert (row.object_id, row.organization, row.user) == (schedule.pk, org_a, crew.manager)
    assert "Added schedule override" in row.description


def test_actions_are_logged_per_object_without_secrets(login, crew, org_a):
    endpoint = WebhookEndpoint.objects.create(
        organization=org_a,
        url="https://hooks.example.com/services/T0/B0/url-token?sig=query-token",
        event_types=["incident.triggered"],
    )
    old_secret = endpoint.secret
    client = login(crew.admin)
    response = client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "roll_secret", "_selected_action": [endpoint.pk]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    row = UserActivityLog.objects.get(activity_type="admin.action")
    assert (row.object_id, row.organization, row.user) == (endpoint.pk, org_a, crew.admin)
    assert row.metadata["action"] == "roll_secret"
    assert row.description.startswith("Roll the signing secret: webhook endpoint")
    assert "webhook endpoint “https://hooks.example.com/…”" in row.description
    for secret in (old_secret, endpoint.secret, "url-token", "query-token"):
        assert secret not in row.description and secret not in str(row.metadata)


def test_incident_actions_are_left_to_the_status_trigger(login, crew, open_incident, org_a):
    incident = open_incident()
    client = login(crew.manager)
    response = client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "resolve_selected", "_selected_action": [incident.pk]},
    )
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    rows = UserActivityLog.objects.filter(object_id=incident.pk).exclude(
        activity_type="incident_created"
    )
    assert [(r.activity_type, r.user_id) for r in rows] == [
        ("incident_status_changed", crew.manager.pk)
    ]


def test_member_changes_are_logged_once_by_the_membership_service(login, crew, org_a):
    client = login(crew.admin)
    membership = crew.viewer.memberships.get(organization=org_a)
    url = reverse("admin:accounts_organizationmember_change", args=[membership.pk])
    assert client.post(url, {"role": "responder"}).status_code == 302
    rows = UserActivityLog.objects.filter(object_id=membership.pk)
    assert [r.activity_type for r in rows] == ["member_role_changed"]


def test_api_key_added_in_admin_shows_the_key_once_and_logs_no_secret(login, crew, org_a):
    client = login(crew.admin)
    response = client.post(
        reverse("admin:accounts_apikey_add"), {"name": "Terraform", "scope": "write"}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="Terraform")
    assert (key.organization, key.created_by, key.scope) == (org_a, crew.admin, "write")
    texts = [str(m) for m in response.context["messages"]]
    shown = next(t for t in texts if "The new key is" in t)
    secret = shown.split("The new key is ")[1].split(" ")[0]
    assert secret.startswith(key.prefix) and len(secret) == 44
    # The "was added" message names the key with its real prefix, not "Terraform ()".
    assert any(f"Terraform ({key.prefix}…)" in t for t in texts), texts
    row = UserActivityLog.objects.get(activity_type="admin.add")
    assert row.object_id == key.pk and key.prefix in row.description
    assert secret not in row.description and secret not in str(row.metadata)
    again = client.get(reverse("admin:accounts_apikey_change", args=[key.pk])).content.decode()
    assert secret not in again


def test_revoke_action_and_state_filter(login, crew, org_a, org_b):
    live = create_api_key(org_a, "Live").api_key
    old = create_api_key(org_a, "Old").api_key
    foreign = create_api_key(org_b, "Globex").api_key
    client = login(crew.admin)
    changelist = reverse("admin:accounts_apikey_changelist")
    response = client.post(
        changelist,
        {"action": "revoke_selected", "_selected_action": [old.pk, foreign.pk]},
        follow=True,
    )
    assert "1 key(s) revoked" in response.content.decode()
    old.refresh_from_db(), foreign.refresh_from_db(), live.refresh_from_db()
    assert old.revoked_at is not None
    assert foreign.revoked_at is None and live.revoked_at is None  # B's key is out of reach
    again = client.post(
        changelist, {"action": "revoke_selected", "_selected_action": [old.pk]}, follow=True
    )
    assert "0 key(s) revoked (1 already revoked)" in again.content.decode()
    revoked_page = client.get(changelist, {"state": "revoked"}).content.decode()
    active_page = client.get(changelist, {"state": "active"}).content.decode()
    assert "Old" in revoked_page and "Live" not in revoked_page
    assert "Live" in active_page and "Old" not in active_page
    rows = UserActivityLog.objects.filter(activity_type="admin.action")
    assert {(r.object_id, r.organization_id) for r in rows} == {(old.pk, org_a.pk)}


def test_monitor_pause_is_logged_once_and_run_now_by_the_wrapper(login, crew, org_a, settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    check = make_check(org_a, "Homepage", config={"url": "http://127.0.0.1:9/"})
    client = login(crew.manager)
    changelist = reverse("admin:monitoring_monitoringcheck_changelist")
    for action in ("pause", "resume", "run_now"):
        response = client.post(changelist, {"action": action, "_selected_action": [check.pk]})
        assert response.status_code == 302
    rows = UserActivityLog.objects.filter(object_id=check.pk).order_by("created_at")
    assert [(r.activity_type, r.user_id, r.organization_id) for r in rows] == [
        ("monitor_paused", crew.manager.pk, org_a.pk),
        ("monitor_resumed", crew.manager.pk, org_a.pk),
        ("admin.action", crew.manager.pk, org_a.pk),
    ]
    assert rows.last().metadata["action"] == "run_now"
