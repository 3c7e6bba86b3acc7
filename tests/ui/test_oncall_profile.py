"""On-call pages, schedule calendar and overrides, the profile page."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from accounts.models import UserActivityLog, UserContactMethod, UserNotificationPreference
from incidents.models import NotificationRule, OnCallSchedule, ScheduleOverride
from tests.incidents.factories import member, policy


def local_input(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def test_oncall_now_lists_schedules_and_policy_levels(login, crew, schedule, org_a):
    policy(org_a, [[schedule], [crew.admin]], name="Payments")
    page = login(crew.viewer).get(reverse("oncall")).content.decode()
    assert "Primary on-call" in page and "Payments" in page
    assert "Level 1" in page and "Level 2" in page
    assert "Responder" in page or "Manager" in page  # whoever the rotation has now


def test_schedule_page_shows_two_weeks_of_layers_overrides_and_final(login, crew, schedule):
    now = timezone.now()
    ScheduleOverride.objects.create(
        organization=schedule.organization,
        schedule=schedule,
        user=crew.admin,
        start_at=now + dt.timedelta(days=1),
        end_at=now + dt.timedelta(days=1, hours=4),
    )
    response = login(crew.viewer).get(reverse("schedule-detail", args=[schedule.pk]))
    assert len(response.context["days"]) == 14
    assert response.context["rows"][0]["bars"]  # the layer rotates
    assert len(response.context["override_bars"]) == 1
    assert any(bar["user"] == crew.admin for bar in response.context["final"])
    assert "override-form" not in response.content.decode()  # viewers cannot add overrides


def test_responder_creates_an_override(login, crew, schedule):
    client = login(crew.responder)
    start = timezone.now() + dt.timedelta(hours=1)
    response = client.post(
        reverse("override-create", args=[schedule.pk]),
        {
            "user": str(crew.admin.pk),
            "start_at": local_input(start),
            "end_at": local_input(start + dt.timedelta(hours=3)),
        },
    )
    assert response.status_code == 302
    override = ScheduleOverride.objects.get(schedule=schedule)
    assert override.user == crew.admin and override.created_by == crew.responder
    assert UserActivityLog.objects.filter(activity_type="schedule_override_created").exists()
    removed = client.post(reverse("override-delete", args=[override.pk]))
    assert removed.status_code == 302 and not ScheduleOverride.objects.exists()
    again = client.post(reverse("override-delete", args=[override.pk]), follow=True)
    assert again.status_code == 200  # already removed: a message, not an error


def test_override_errors_are_shown_on_the_form(login, crew, schedule, org_b):
    client = login(crew.responder)
    start = timezone.now() + dt.timedelta(hours=1)
    outsider = member(org_b, "eve@globex.example")
    cases = [
        ({"start_at": local_input(start), "end_at": local_input(start)}, "must end after"),
        (
            {
                "start_at": local_input(start - dt.timedelta(days=3)),
                "end_at": local_input(start - dt.timedelta(days=2)),
            },
            "already be over",
        ),
        ({"start_at": "yesterday-ish", "end_at": ""}, "Enter a valid date/time"),
        (
            {
                "user": str(outsider.pk),
                "start_at": local_input(start),
                "end_at": local_input(start + dt.timedelta(hours=1)),
            },
            "Select a valid choice",
        ),
    ]
    for data, error in cases:
        data.setdefault("user", str(crew.admin.pk))
        response = client.post(reverse("override-create", args=[schedule.pk]), data)
        assert response.status_code == 400, data
        assert error in response.content.decode(), (error, data)
    assert not ScheduleOverride.objects.exists()


def test_viewer_cannot_create_overrides(login, crew, schedule):
    start = timezone.now() + dt.timedelta(hours=1)
    response = login(crew.viewer).post(
        reverse("override-create", args=[schedule.pk]),
        {
            "user": str(crew.viewer.pk),
            "start_at": local_input(start),
            "end_at": local_input(start + dt.timedelta(hours=1)),
        },
    )
    assert response.status_code == 403 and not ScheduleOverride.objects.exists()


def test_other_organizations_schedule_is_404(client, schedule, org_b):
    client.force_login(member(org_b, "eve@globex.example", role="admin"))
    assert client.get(reverse("schedule-detail", args=[schedule.pk])).status_code == 404
    response = client.post(reverse("override-create", args=[schedule.pk]), {})
    assert response.status_code == 404


def test_my_shifts_with_ical_link(login, crew, schedule):
    response = login(crew.responder).get(reverse("my-shifts"))
    assert response.context["shifts"]
    assert "/oncall/ical/user/" in response.context["ical_url"]
    assert all(s.schedule == schedule for s in response.context["shifts"])


def test_profile_flags_no_usable_contact_method(login, crew):
    page = login(crew.responder).get(reverse("profile")).content.decode()
    assert "No usable contact method" in page


def test_profile_contact_methods_add_validate_remove(login, crew):
    client = login(crew.responder)
    bad = client.post(reverse("contact-method-add"), {"method_type": "sms", "value": "555-1234"})
    assert bad.status_code == 400 and "field-errors" in bad.content.decode()
    ok = client.post(
        reverse("contact-method-add"), {"method_type": "email", "value": "Me@Example.com"}
    )
    assert ok.status_code == 302
    method = UserContactMethod.objects.get(user=crew.responder)
    assert method.value == "me@example.com"
    duplicate = client.post(
        reverse("contact-method-add"), {"method_type": "email", "value": "me@example.com"}
    )
    assert duplicate.status_code == 400 and "already have" in duplicate.content.decode()
    assert "No usable contact method" not in client.get(reverse("profile")).content.decode()
    client.post(reverse("contact-method-delete", args=[method.pk]))
    assert not UserContactMethod.objects.filter(user=crew.responder).exists()


def test_cannot_touch_someone_elses_contact_method(login, crew):
    theirs = UserContactMethod.objects.create(
        user=crew.manager, method_type="email", value="manager@acme.example"
    )
    client = login(crew.responder)
    client.post(reverse("contact-method-delete", args=[theirs.pk]))
    assert UserContactMethod.objects.filter(pk=theirs.pk).exists()
    assert client.post(reverse("contact-method-test", args=[theirs.pk])).status_code == 404


def test_send_test_notification_shows_the_result(login, crew, mailoutbox):
    method = UserContactMethod.objects.create(
        user=crew.responder, method_type="email", value="responder@acme.example"
    )
    response = login(crew.responder).post(
        reverse("contact-method-test", args=[method.pk]), follow=True
    )
    assert any("Test notification sent" in str(m) for m in response.context["messages"])
    assert len(mailoutbox) == 1 and "test" in mailoutbox[0].subject.lower()


def test_send_test_sms_without_twilio_says_skipped(login, crew, settings):
    settings.TWILIO_ACCOUNT_SID = ""
    method = UserContactMethod.objects.create(
        user=crew.responder, method_type="sms", value="+15551234567"
    )
    response = login(crew.responder).post(
        reverse("contact-method-test", args=[method.pk]), follow=True
    )
    assert any("Not sent" in str(m) for m in response.context["messages"])


def test_notification_rules_and_quiet_hours(login, crew):
    method = UserContactMethod.objects.create(
        user=crew.responder, method_type="email", value="responder@acme.example"
    )
    client = login(crew.responder)
    added = client.post(
        reverse("notification-rule-add"),
        {"urgency": "high", "contact_method": str(method.pk), "start_delay_minutes": 5},
    )
    assert added.status_code == 302
    rule = NotificationRule.objects.get(user=crew.responder)
    assert rule.organization_id == crew.responder.memberships.get().organization_id
    bad = client.post(
        reverse("notification-rule-add"),
        {"urgency": "high", "contact_method": str(method.pk), "start_delay_minutes": 99999},
    )
    assert bad.status_code == 400
    quiet = client.post(
        reverse("quiet-hours"),
        {"quiet_hours_enabled": "on", "quiet_hours_start": "22:00", "quiet_hours_end": "22:00"},
    )
    assert quiet.status_code == 400 and "same time" in quiet.content.decode()
    quiet = client.post(
        reverse("quiet-hours"),
        {
            "quiet_hours_enabled": "on",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:00",
            "quiet_hours_weekdays": ["1", "2"],
        },
    )
    assert quiet.status_code == 302
    preference = UserNotificationPreference.objects.get(user=crew.responder)
    assert preference.quiet_hours_weekdays == [1, 2]
    client.post(reverse("notification-rule-delete", args=[rule.pk]))
    assert not NotificationRule.objects.exists()
    logged = set(UserActivityLog.objects.values_list("activity_type", flat=True))
    assert {"notification_rule_added", "notification_preferences_changed"} <= logged


def test_schedules_of_another_org_not_listed(login, crew, org_b):
    OnCallSchedule.objects.create(organization=org_b, name="Globex nights")
    assert "Globex nights" not in login(crew.viewer).get(reverse("oncall")).content.decode()
