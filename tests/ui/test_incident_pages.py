"""Incidents list and page: filters, actions, bad input, roles, escaping, tenancy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import UserActivityLog
from incidents import lifecycle
from incidents.models import Incident, IncidentUpdate, NotificationHistory
from tests.incidents.factories import member, policy

ACTIONS = ["acknowledge", "resolve", "snooze", "note", "severity", "reassign", "escalate", "merge"]


def act(client, incident, action, **data):
    return client.post(reverse("incident-act", args=[incident.pk, action]), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_list_shows_open_incidents_first_and_filters(login, crew, open_incident, api):
    old = open_incident("Old outage")
    lifecycle.resolve(old, crew.responder)
    newer = open_incident("Disk full", severity="low")
    lifecycle.acknowledge(newer, crew.responder)
    newest_resolved = open_incident("Cache cold")
    lifecycle.resolve(newest_resolved, crew.responder)
    client = login(crew.viewer)

    page = client.get(reverse("incident-list")).content.decode()
    assert page.index("Disk full") < page.index("Cache cold")  # open before resolved

    def titles(**query):
        response = client.get(reverse("incident-list"), query)
        return [i.title for i in response.context["page"].object_list]

    assert titles(status="open") == ["Disk full"]
    assert titles(status="resolved") == ["Cache cold", "Old outage"]
    assert titles(severity="low") == ["Disk full"]
    assert titles(q="disk") == ["Disk full"]
    assert titles(service=str(api.pk), status="open") == ["Disk full"]
    assert titles(service="not-a-uuid") == ["Disk full", "Cache cold", "Old outage"]  # ignored


def test_list_filters_by_assignee(login, crew, open_incident):
    mine = open_incident("Mine")
    open_incident("Nobody's")
    lifecycle.reassign_to_user(mine, crew.manager, crew.responder)
    client = login(crew.manager)
    response = client.get(reverse("incident-list"), {"assignee": "me"})
    assert [i.title for i in response.context["page"].object_list] == ["Mine"]
    response = client.get(reverse("incident-list"), {"assignee": "none"})
    assert [i.title for i in response.context["page"].object_list] == ["Nobody's"]


def test_list_is_paginated(login, crew, api, org_a):
    Incident.objects.bulk_create(
        [Incident(organization=org_a, service=api, title=f"Bulk {n}") for n in range(30)]
    )
    client = login(crew.viewer)
    first = client.get(reverse("incident-list"))
    assert len(first.context["page"].object_list) == 25
    second = client.get(reverse("incident-list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert client.get(reverse("incident-list"), {"page": "junk"}).status_code == 200


def test_incident_page_shows_timeline_with_deliveries(login, crew, open_incident, org_a):
    incident = open_incident()
    NotificationHistory.objects.create(
        organization=org_a,
        incident=incident,
        user=crew.responder,
        channel="sms",
        target="+15551234567",
        idempotency_key="k1",
        status="failed",
        attempts=2,
        error="carrier said no",
    )
    lifecycle.add_note(incident, crew.responder, "Looking into it")
    page = login(crew.viewer).get(reverse("incident-detail", args=[incident.pk])).content.decode()
    assert "Looking into it" in page
    assert "carrier said no" in page and "sms" in page and "Failed" in page
    assert "Incident opened" in page
    # A viewer reads; no action buttons.
    assert "Acknowledge</button>" not in page and "Add note" not in page


def test_timeline_shows_the_newest_entries_and_links_to_all(login, crew, open_incident, org_a):
    incident = open_incident()  # "Incident opened" and its page of the responder: 2+ rows
    base = timezone.now()
    deliveries = [
        NotificationHistory.objects.create(
            organization=org_a, incident=incident, user=crew.manager, channel="sms",
            target="+15550000000", idempotency_key=f"t{n}", status="failed", attempts=3,
            error=f"carrier said no {n}", sent_at=base + dt.timedelta(minutes=n + 1),
        )
        for n in range(5)
    ]  # fmt: skip
    # What delivery.py writes when a delivery finishes: the delivery row stands for it.
    IncidentUpdate.objects.bulk_create(
        IncidentUpdate(
            organization=org_a, incident=incident, update_type="notification",
            message=f"duplicate {n}", metadata={"history": str(row.pk), "channel": "sms"},
        )
        for n, row in enumerate(deliveries)
    )  # fmt: skip
    IncidentUpdate.objects.create(
        organization=org_a, incident=incident, update_type="notification",
        message="delivery row gone", metadata={"history": "not-a-uuid"},
    )  # fmt: skip
    for n in range(60):
        lifecycle.add_note(incident, crew.responder, f"note {n:02}")
    client = login(crew.viewer)
    url = reverse("incident-detail", args=[incident.pk])
    response = client.get(url)
    timeline, info = response.context["timeline"], response.context["timeline_info"]
    # Every row and every delivery (opening paged the responder too), less the 5 duplicates.
    expected = (
        IncidentUpdate.objects.filter(incident=incident).count()
        + NotificationHistory.objects.filter(incident=incident).count()
        - 5
    )
    assert len(timeline) == 50 and info.total == expected and not info.showing_all
    at = [entry.at for entry in timeline]
    assert at == sorted(at, reverse=True)
    # The deliveries sent in the future (+1..5 min) are newest: who, channel, status, error.
    assert [e.kind for e in timeline[:5]] == ["delivery"] * 5
    assert timeline[0].error == "carrier said no 4" and timeline[0].user == str(crew.manager)
    assert timeline[5].message == "note 59"
    page = response.content.decode()
    assert "duplicate" not in page and "carrier said no 4" in page
    assert "note 59" in page and "note 15" in page
    assert "note 14" not in page  # 5 deliveries and notes 59..15 are the newest 50
    link = f'href="{url}?timeline=all#timeline" id="timeline-all">Show all {expected} entries'
    assert link in page and f'hx-get="/incidents/{incident.pk}/live/"' in page

    everything = client.get(url, {"timeline": "all"})
    page = everything.content.decode()
    assert len(everything.context["timeline"]) == expected
    assert "note 00" in page and "delivery row gone" in page and "duplicate" not in page
    assert "Incident opened" in page and "Show all" not in page
    assert f'hx-get="/incidents/{incident.pk}/live/?timeline=all"' in page

    # The live fragment keeps the mode, and its ETag tells the two apart.
    live = reverse("incident-live", args=[incident.pk])
    recent, full = client.get(live), client.get(live, {"timeline": "all"})
    assert len(recent.context["timeline"]) == 50 and len(full.context["timeline"]) == expected
    assert recent["ETag"] != full["ETag"]
    assert f'hx-get="{live}?timeline=all"' in full.content.decode()
    assert client.get(live, {"timeline": "bogus"})["ETag"] == recent["ETag"]


def test_short_timeline_has_no_link(login, crew, open_incident):
    incident = open_incident()
    lifecycle.add_note(incident, crew.responder, "Looking")
    response = login(crew.viewer).get(reverse("incident-detail", args=[incident.pk]))
    info = response.context["timeline_info"]
    assert info.total == len(response.context["timeline"]) and info.more == 0
    assert "Show all" not in response.content.decode()


def test_acknowledge_double_click_and_resolve_in_another_tab(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.responder)
    assert "Acknowledged." in messages_of(act(client, incident, "acknowledge"))
    second = act(client, incident, "acknowledge")
    assert second.status_code == 200 and "Already acknowledged." in messages_of(second)
    lifecycle.resolve(incident, crew.manager)  # another tab, another person
    again = act(client, incident, "acknowledge")
    assert again.status_code == 200
    assert messages_of(again) == ["This incident is already resolved; nothing to do."]
    for action in ("resolve", "snooze", "escalate", "reassign"):
        response = act(client, incident, action, minutes=60, user=str(crew.manager.pk))
        assert response.status_code == 200, action
    statuses = IncidentUpdate.objects.filter(incident=incident, update_type="status_change")
    assert statuses.count() == 2  # acknowledged once, resolved once


def test_stale_form_says_the_incident_changed(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.responder)
    seen = client.get(reverse("incident-detail", args=[incident.pk])).context["seen"]
    lifecycle.acknowledge(incident, crew.manager)
    response = act(client, incident, "resolve", seen=seen)
    assert "Resolved. (It had changed since you opened it" in messages_of(response)[0]


def test_every_action_works_and_is_logged(login, crew, open_incident, org_a):
    incident = open_incident()
    duplicate = open_incident("Duplicate page")
    other_policy = policy(org_a, [[crew.manager]], name="Secondary")
    client = login(crew.responder)
    act(client, incident, "note", message="<b>bold</b> claim")
    act(client, incident, "severity", severity="critical")
    act(client, incident, "reassign", user=str(crew.manager.pk))
    act(client, incident, "reassign", policy=str(other_policy.pk))
    act(client, incident, "escalate")
    act(client, incident, "merge", incidents=[str(duplicate.pk)])
    act(client, incident, "snooze", minutes=60)
    incident.refresh_from_db()
    duplicate.refresh_from_db()
    assert incident.severity == "critical" and incident.status == "acknowledged"
    assert incident.snoozed_until is not None and incident.escalation_policy == other_policy
    assert duplicate.merged_into == incident and duplicate.status == "resolved"
    kinds = set(
        UserActivityLog.objects.filter(object_id=incident.pk).values_list(
            "activity_type", flat=True
        )
    )
    assert {
        "incident_note_added",
        "incident_severity_changed",
        "incident_reassigned",
        "incident_escalated",
        "incident_merged",
        "incident_snoozed",
    } <= kinds
    page = client.get(reverse("incident-detail", args=[incident.pk])).content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in page and "<b>bold</b>" not in page


def test_bad_action_input_is_a_message_not_an_error(login, crew, open_incident):
    incident = open_incident()
    client = login(crew.responder)
    cases = [
        ("note", {"message": "   "}),
        ("note", {"message": "x" * 10_001}),
        ("severity", {"severity": "apocalyptic"}),
        ("snooze", {"minutes": "forever"}),
        ("snooze", {"minutes": "7"}),
        ("reassign", {}),
        ("reassign", {"user": "not-a-uuid"}),
        ("reassign", {"user": "00000000-0000-0000-0000-000000000000"}),
        ("reassign", {"policy": "00000000-0000-0000-0000-000000000000"}),
        ("merge", {}),
        ("merge", {"incidents": ["00000000-0000-0000-0000-000000000000"]}),
        ("merge", {"incidents": [str(incident.pk)]}),
    ]
    for action, data in cases:
        response = act(client, incident, action, **data)
        assert response.status_code == 200, (action, data)
        assert messages_of(response), (action, data)
    assert client.post(reverse("incident-act", args=[incident.pk, "explode"])).status_code == 404


def test_get_on_an_action_is_refused(login, crew, open_incident):
    incident = open_incident()
    response = login(crew.responder).get(reverse("incident-act", args=[incident.pk, "resolve"]))
    assert response.status_code == 405


def test_csrf_is_required_on_actions(crew, open_incident):
    incident = open_incident()
    client = Client(enforce_csrf_checks=True)
    client.force_login(crew.responder)
    response = client.post(reverse("incident-act", args=[incident.pk, "resolve"]))
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


@pytest.mark.parametrize("action", ACTIONS)
def test_viewer_cannot_act(login, crew, open_incident, action):
    incident = open_incident()
    response = login(crew.viewer).post(
        reverse("incident-act", args=[incident.pk, action]),
        {"message": "x", "severity": "low", "minutes": 60, "user": str(crew.viewer.pk)},
    )
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered" and incident.severity == "high"
    assert not IncidentUpdate.objects.filter(incident=incident, update_type="note").exists()


def test_other_organizations_incident_is_404(client, crew, org_b, open_incident):
    outsider = member(org_b, "eve@globex.example", role="admin")
    incident = open_incident("Acme secret")
    client.force_login(outsider)
    for url in (
        reverse("incident-detail", args=[incident.pk]),
        reverse("incident-live", args=[incident.pk]),
    ):
        assert client.get(url).status_code == 404
    response = client.post(reverse("incident-act", args=[incident.pk, "resolve"]))
    assert response.status_code == 404
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert "Acme secret" not in client.get(reverse("incident-list")).content.decode()


def test_user_without_organization_and_anonymous(client, make_user, db):
    assert client.get(reverse("incident-list")).status_code == 302
    client.force_login(make_user("lonely@example.com"))
    response = client.get(reverse("incident-list"))
    assert response.status_code == 403 and b"No organization yet" in response.content


def test_titles_are_escaped_everywhere(login, crew, api, org_a):
    evil = '<img src=x onerror="alert(1)">'
    incident = lifecycle.open_incident(api, evil, description=evil).incident
    lifecycle.add_note(incident, crew.responder, evil)
    client = login(crew.responder)
    for url in (
        reverse("incident-list"),
        reverse("incident-list-live"),
        reverse("incident-detail", args=[incident.pk]),
        reverse("incident-live", args=[incident.pk]),
    ):
        body = client.get(url).content.decode()
        assert "<img src=x" not in body, url
        assert "&lt;img src=x" in body, url


def test_other_services_policy_reassign_is_refused(login, crew, open_incident, org_b):
    foreign = policy(org_b, [[member(org_b, "bob@globex.example")]], name="Theirs")
    incident = open_incident()
    response = act(login(crew.responder), incident, "reassign", policy=str(foreign.pk))
    assert messages_of(response) == ["That escalation policy no longer exists."]
