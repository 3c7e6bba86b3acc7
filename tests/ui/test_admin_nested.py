"""Policy and schedule admin pages: levels with their targets, layers with their participants
and restrictions, and overrides, all edited on one page in one POST (django-nested-admin),
still scoped to the manager's organization and still refusing bad input without a 500."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import TeamGroup
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    IncidentAssignment,
    OnCallSchedule,
    ScheduleLayerMember,
    ScheduleOverride,
    ScheduleRestriction,
    Service,
)
from tests.incidents.factories import member, policy


class _FormFields(HTMLParser):
    """What a browser would submit from the admin change form, before the user edits it."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind == "checkbox":
                if "checked" in attributes:
                    self.data[name] = attributes.get("value") or "on"
                return
            self.data[name] = attributes.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = attributes.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in attributes:
                self.data[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            self.data.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_data(response) -> dict[str, str]:
    """Every field of the change form, template rows included, as a browser posts it."""
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.content.decode())
    return parser.data


def add_rows(data: dict[str, str], prefix: str, *rows: dict[str, str]) -> None:
    """Append rows to the formset ``prefix`` as the "Add another" link does: a copy of the
    template row (its defaults and hidden fields) with the user's input on top."""
    total = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
    data.setdefault(f"{prefix}-INITIAL_FORMS", "0")
    candidates = [f"{prefix}-__prefix__-", re.sub(r"-\d+-", "-empty-", prefix) + "-__prefix__-"]
    template = next((c for c in candidates if any(k.startswith(c) for k in data)), None)
    assert template is not None, f"no template row for {prefix}"
    defaults = {k[len(template) :]: v for k, v in data.items() if k.startswith(template)}
    for offset, row in enumerate(rows):
        for field, value in {**defaults, **row}.items():
            data[f"{prefix}-{total + offset}-{field}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = str(total + len(rows))


@pytest.fixture
def outsider(org_b):
    """Someone of another organization, with a schedule and a team there."""
    user = member(org_b, "eve@globex.example")
    schedule = OnCallSchedule.objects.create(organization=org_b, name="Globex nights")
    team = TeamGroup.objects.create(organization=org_b, name="Globex SRE")
    return user, schedule, team


@pytest.fixture
def sre(org_a, crew) -> TeamGroup:
    return TeamGroup.objects.create(organization=org_a, name="SRE")


def _new_policy_post(client, **overrides: str) -> tuple[dict[str, str], str]:
    add = reverse("admin:incidents_escalationpolicy_add")
    data = form_data(client.get(add))
    data.update(name="Checkout", repeat_count="1")
    add_rows(
        data,
        "rules",
        {"position": "0", "delay_minutes": "5"},
        {"position": "1", "delay_minutes": "15"},
    )
    for level in (0, 1):
        data[f"rules-{level}-targets-TOTAL_FORMS"] = "0"
        data[f"rules-{level}-targets-INITIAL_FORMS"] = "0"
    data.update(overrides)
    return data, add


def test_manager_adds_a_policy_with_levels_and_targets_in_one_post(
    login, crew, org_a, schedule, sre
):
    client = login(crew.manager)
    data, add = _new_policy_post(client)
    add_rows(
        data,
        "rules-0-targets",
        {"target_type": "user", "user": str(crew.responder.pk)},
        {"target_type": "schedule", "schedule": str(schedule.pk)},
    )
    add_rows(data, "rules-1-targets", {"target_type": "team", "team": str(sre.pk)})

    response = client.post(add, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    created = EscalationPolicy.objects.get(name="Checkout")
    assert created.organization == org_a and created.repeat_count == 1
    first, second = created.rules.order_by("position")
    assert (first.position, first.delay_minutes, second.delay_minutes) == (0, 5, 15)
    assert {(t.target_type, t.user_id or t.schedule_id) for t in first.targets.all()} == {
        ("user", crew.responder.pk),
        ("schedule", schedule.pk),
    }
    assert [(t.target_type, t.team_id) for t in second.targets.all()] == [("team", sre.pk)]
    targets = EscalationTarget.objects.filter(rule__policy=created)
    assert {t.organization_id for t in targets} == {org_a.pk}


def test_policy_page_shows_each_levels_targets(login, crew, org_a, schedule):
    existing = policy(org_a, [[crew.responder], [schedule]], name="Payments")
    page = login(crew.manager).get(
        reverse("admin:incidents_escalationpolicy_change", args=[existing.pk])
    )
    data = form_data(page)
    assert data["rules-0-targets-0-user"] == str(crew.responder.pk)
    assert data["rules-1-targets-0-schedule"] == str(schedule.pk)
    assert data["rules-0-targets-TOTAL_FORMS"] == "1"
    assert "nested_admin" in page.content.decode()  # the add/remove script is on the page


def test_other_organizations_people_schedules_and_teams_are_not_offered(login, crew, outsider):
    page = login(crew.manager).get(reverse("admin:incidents_escalationpolicy_add"))
    html = page.content.decode()
    for row in outsider:
        assert str(row.pk) not in html
    assert str(crew.responder.pk) in html  # the template target row offers members


@pytest.mark.parametrize("field", ["user", "schedule", "team"])
def test_forged_target_of_another_organization_is_refused(login, crew, outsider, field):
    user, schedule, team = outsider
    forged = {"user": user, "schedule": schedule, "team": team}[field]
    client = login(crew.manager)
    data, add = _new_policy_post(client)
    add_rows(data, "rules-0-targets", {"target_type": field, field: str(forged.pk)})

    response = client.post(add, data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Checkout").exists()
    assert not EscalationRule.objects.filter(policy__name="Checkout").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules-1-position": "0"}, "Please correct the duplicate data for"),
        ({"rules-1-delay_minutes": "0"}, "greater than or equal to 1"),
        ({"rules-0-targets-0-user": ""}, "Choose the user to notify."),
        ({"rules-0-targets-0-target_type": "team"}, "Choose the team to notify."),
    ],
)
def test_bad_levels_or_targets_are_shown_and_nothing_is_saved(login, crew, change, message):
    client = login(crew.manager)
    data, add = _new_policy_post(client)
    add_rows(data, "rules-0-targets", {"target_type": "user", "user": str(crew.responder.pk)})
    data.update(change)

    response = client.post(add, data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not EscalationPolicy.objects.filter(name="Checkout").exists()
    assert not EscalationTarget.objects.filter(rule__policy__name="Checkout").exists()


def test_handoff_loop_is_a_form_error_and_levels_stay_unsaved(login, crew, org_a):
    first = policy(org_a, [[crew.responder]], name="First")
    second = policy(org_a, [[crew.responder]], name="Second")
    second.handoff_policy = first
    second.save()
    client = login(crew.manager)
    change = reverse("admin:incidents_escalationpolicy_change", args=[first.pk])
    data = form_data(client.get(change))
    data["handoff_policy"] = str(second.pk)
    add_rows(data, "rules", {"position": "1", "delay_minutes": "5"})
    data["rules-1-targets-TOTAL_FORMS"] = data["rules-1-targets-INITIAL_FORMS"] = "0"

    response = client.post(change, data)

    assert response.status_code == 200
    assert "loop back to the same policy" in response.content.decode()
    first.refresh_from_db()
    assert first.handoff_policy is None and first.rules.count() == 1


def test_editing_levels_and_targets_of_an_existing_policy(login, crew, org_a, schedule):
    existing = policy(org_a, [[crew.responder], [crew.manager]], name="Payments")
    client = login(crew.manager)
    change = reverse("admin:incidents_escalationpolicy_change", args=[existing.pk])
    data = form_data(client.get(change))
    data["rules-0-delay_minutes"] = "3"
    data["rules-0-targets-0-DELETE"] = "on"
    add_rows(data, "rules-0-targets", {"target_type": "schedule", "schedule": str(schedule.pk)})
    data["rules-1-DELETE"] = "on"  # the level goes, its target with it (not ticked itself)

    response = client.post(change, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    (level,) = existing.rules.all()
    assert level.delay_minutes == 3
    assert [(t.target_type, t.schedule_id) for t in level.targets.all()] == [
        ("schedule", schedule.pk)
    ]
    assert not EscalationTarget.objects.filter(user=crew.manager).exists()


def test_a_forged_row_id_cannot_pull_in_another_policys_level(login, crew, org_a):
    mine = policy(org_a, [[crew.responder]], name="Mine")
    other = policy(org_a, [[crew.manager]], name="Other")
    client = login(crew.manager)
    change = reverse("admin:incidents_escalationpolicy_change", args=[mine.pk])
    data = form_data(client.get(change))
    other_level = other.rules.get()
    data["rules-0-id"] = str(other_level.pk)
    data["rules-0-delay_minutes"] = "7"

    response = client.post(change, data)

    assert response.status_code == 200
    errors = [message for field in response.context["errors"] for message in field]
    assert "Select a valid choice. That choice is not one of the available choices." in errors
    assert "Please correct the error" in response.content.decode()
    other_level.refresh_from_db()
    assert other_level.policy == other and other_level.delay_minutes == 10


def test_another_organizations_policy_is_not_found(login, crew, org_b, outsider):
    foreign = policy(org_b, [[outsider[0]]], name="Globex")
    response = login(crew.manager).get(
        reverse("admin:incidents_escalationpolicy_change", args=[foreign.pk])
    )
    assert response.status_code == 302  # Django admin: "doesn't exist", back to the index


def test_staff_viewer_reads_the_nested_page_but_cannot_edit(login, crew, org_a):
    existing = policy(org_a, [[crew.responder]], name="Payments")
    crew.viewer.is_staff = True
    crew.viewer.save()
    client = login(crew.viewer)
    change = reverse("admin:incidents_escalationpolicy_change", args=[existing.pk])
    page = client.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert "rules-0-targets-0-user" not in html and str(crew.responder) in html
    response = client.post(
        change,
        {
            "name": "Renamed",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "1",
            "rules-0-id": str(existing.rules.get().pk),
            "rules-0-position": "0",
            "rules-0-delay_minutes": "1",
        },
    )
    assert response.status_code == 403
    existing.refresh_from_db()
    assert existing.name == "Payments" and existing.rules.get().delay_minutes == 10
    assert login(crew.responder).get(change).status_code == 302  # no admin for responders


# --- Schedules ------------------------------------------------------------------------------


def _schedule_page(client, schedule):
    change = reverse("admin:incidents_oncallschedule_change", args=[schedule.pk])
    return change, form_data(client.get(change))


def test_participants_restriction_and_override_edited_on_the_schedule_page(
    login, crew, org_a, schedule
):
    client = login(crew.manager)
    change, data = _schedule_page(client, schedule)
    assert data["layers-0-memberships-0-user"] == str(crew.responder.pk)
    data["layers-0-memberships-0-DELETE"] = "on"
    add_rows(data, "layers-0-memberships", {"position": "2", "user": str(crew.admin.pk)})
    add_rows(
        data,
        "layers-0-restrictions",
        {"kind": "daily", "start_time": "09:00", "duration_minutes": "480"},
    )
    start = timezone.now() + dt.timedelta(days=1)
    add_rows(
        data,
        "overrides",
        {
            "user": str(crew.viewer.pk),
            "start_at_0": start.strftime("%Y-%m-%d"),
            "start_at_1": "09:00:00",
            "end_at_0": start.strftime("%Y-%m-%d"),
            "end_at_1": "17:00:00",
        },
    )

    response = client.post(change, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    layer = schedule.layers.get()
    assert [(m.position, m.user_id) for m in layer.memberships.order_by("position")] == [
        (1, crew.manager.pk),
        (2, crew.admin.pk),
    ]
    restriction = layer.restrictions.get()
    assert (restriction.kind, restriction.duration_minutes) == ("daily", 480)
    override = schedule.overrides.get()
    assert override.user == crew.viewer and override.created_by == crew.manager
    rows = [*layer.memberships.all(), restriction, override]
    assert {row.organization_id for row in rows} == {org_a.pk}


def test_new_schedule_with_a_layer_and_its_participants_in_one_post(login, crew, org_a):
    client = login(crew.manager)
    add = reverse("admin:incidents_oncallschedule_add")
    data = form_data(client.get(add))
    data.update(name="Database", time_zone="Europe/Paris")
    add_rows(
        data,
        "layers",
        {
            "name": "Primary",
            "position": "0",
            "rotation_unit": "weeks",
            "rotation_length": "1",
            "rotation_start_0": "2026-01-05",
            "rotation_start_1": "09:00:00",
        },
    )
    data["layers-0-restrictions-TOTAL_FORMS"] = "0"
    data["layers-0-restrictions-INITIAL_FORMS"] = "0"
    add_rows(
        data,
        "layers-0-memberships",
        {"position": "0", "user": str(crew.responder.pk)},
        {"position": "1", "user": str(crew.manager.pk)},
    )

    response = client.post(add, data, follow=True)

    created = OnCallSchedule.objects.get(name="Database")
    layer = created.layers.get()
    assert [m.user_id for m in layer.memberships.order_by("position")] == [
        crew.responder.pk,
        crew.manager.pk,
    ]
    shown = [str(m) for m in response.context["messages"]]
    assert not any("has no participants" in m for m in shown), shown


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"kind": "weekly", "start_time": "09:00", "duration_minutes": "60"},
            "A weekly restriction needs the weekday it starts on.",
        ),
        (
            {"kind": "daily", "start_time": "09:00", "duration_minutes": "2000"},
            "Daily restrictions last up to 24 h",
        ),
    ],
)
def test_bad_restriction_is_shown_and_nothing_is_saved(login, crew, schedule, row, message):
    client = login(crew.manager)
    change, data = _schedule_page(client, schedule)
    add_rows(data, "layers-0-memberships", {"position": "2", "user": str(crew.admin.pk)})
    add_rows(data, "layers-0-restrictions", row)
    data["name"] = "Renamed"

    response = client.post(change, data)

    assert response.status_code == 200
    assert message in response.content.decode()
    schedule.refresh_from_db()
    assert schedule.name == "Primary on-call"
    assert not ScheduleLayerMember.objects.filter(user=crew.admin).exists()
    assert not ScheduleRestriction.objects.exists()


def test_bad_participants_and_overrides_are_shown_and_nothing_is_saved(
    login, crew, schedule, outsider
):
    client = login(crew.manager)
    change, data = _schedule_page(client, schedule)
    add_rows(data, "layers-0-memberships", {"position": "1", "user": str(crew.admin.pk)})
    add_rows(
        data,
        "overrides",
        {
            "user": str(outsider[0].pk),
            "start_at_0": "2026-03-02",
            "start_at_1": "17:00:00",
            "end_at_0": "2026-03-02",
            "end_at_1": "09:00:00",
        },
    )

    html = client.post(change, data).content.decode()

    assert "Please correct the duplicate data for" in html  # two participants at position 1
    assert "Select a valid choice" in html  # the other organization's user
    assert "An override must end after it starts." in html
    assert not ScheduleLayerMember.objects.filter(user=crew.admin).exists()
    assert not ScheduleOverride.objects.exists()


def test_schedule_page_offers_only_members_of_the_organization(login, crew, schedule, outsider):
    html = login(crew.manager).get(
        reverse("admin:incidents_oncallschedule_change", args=[schedule.pk])
    )
    assert str(outsider[0].pk) not in html.content.decode()


def test_layer_end_before_start_is_a_form_error(login, crew, schedule):
    client = login(crew.manager)
    change, data = _schedule_page(client, schedule)
    data["layers-0-end_at_0"] = "2020-01-01"
    data["layers-0-end_at_1"] = "09:00:00"
    response = client.post(change, data)
    assert response.status_code == 200
    assert "must end after its rotation starts" in response.content.decode()


# --- List filters and the incident page -----------------------------------------------------


def test_policy_filters_find_levels_without_targets(login, crew, org_a, sre, api):
    policy(org_a, [[crew.responder], []], name="Half done")
    policy(org_a, [[sre]], name="Team page")
    client = login(crew.manager)
    changelist = reverse("admin:incidents_escalationpolicy_changelist")
    gaps = client.get(changelist, {"setup": "gaps"}).context["cl"].result_list
    assert [p.name for p in gaps] == ["Half done"]
    unused = client.get(changelist, {"used": "no"}).context["cl"].result_list
    assert {p.name for p in unused} == {"Half done", "Team page"}  # "Primary" routes API
    by_team = client.get(changelist, {"rules__targets__team__id__exact": str(sre.pk)})
    assert [p.name for p in by_team.context["cl"].result_list] == ["Team page"]


def test_schedule_filters_find_overrides_in_effect_and_empty_layers(login, crew, org_a, schedule):
    now = timezone.now()
    ScheduleOverride.objects.create(
        organization=org_a,
        schedule=schedule,
        user=crew.admin,
        start_at=now - dt.timedelta(hours=1),
        end_at=now + dt.timedelta(hours=1),
    )
    quiet = OnCallSchedule.objects.create(organization=org_a, name="Quiet")
    client = login(crew.manager)
    changelist = reverse("admin:incidents_oncallschedule_changelist")
    overridden = client.get(changelist, {"override": "now"}).context["cl"].result_list
    assert [s.name for s in overridden] == [schedule.name]
    gaps = client.get(changelist, {"setup": "gaps"}).context["cl"].result_list
    assert [s.name for s in gaps] == [quiet.name]


def test_incident_page_lists_its_assignees(login, crew, open_incident):
    incident = open_incident()
    IncidentAssignment.objects.create(
        organization=incident.organization,
        incident=incident,
        user=crew.admin,
        assigned_by=crew.manager,
    )
    client = login(crew.manager)
    page = client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    html = page.content.decode()
    assert "Assignees" in html and str(crew.admin) in html
    changelist = client.get(
        reverse("admin:incidents_incident_changelist"),
        {"assignments__user__id__exact": str(crew.admin.pk)},
    )
    assert list(changelist.context["cl"].result_list) == [incident]


def test_rows_added_on_any_add_page_keep_the_new_parent(login, crew, org_a):
    """A row copied from the template row must not carry the id the GET chose for the
    parent (a new one is chosen on the POST): the plain inlines of accounts.admin too."""
    client = login(crew.manager)
    add = reverse("admin:incidents_service_add")
    data = form_data(client.get(add))
    assert data["integrations-__prefix__-service"] == ""
    data.update(name="Billing", status="active", urgency_rule="high")
    add_rows(data, "integrations", {"name": "Alertmanager", "kind": "alertmanager"})

    response = client.post(add, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    integration = Service.objects.get(name="Billing").integrations.get()
    assert (integration.kind, integration.organization_id) == ("alertmanager", org_a.pk)
