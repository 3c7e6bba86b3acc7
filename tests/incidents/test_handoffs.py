import datetime as dt

from django.core import mail
from django.utils import timezone

from incidents.handoffs import notify_handoffs
from incidents.models import NotificationHistory, OnCallSchedule, ScheduleLayer
from tests.incidents.factories import member


def test_shift_start_is_announced_once(org_a):
    ana = member(org_a, "ana@example.com")
    bo = member(org_a, "bo@example.com")
    schedule = OnCallSchedule.objects.create(
        organization=org_a, name="Primary", time_zone="Europe/Berlin", handoff_notifications=True
    )
    quiet = OnCallSchedule.objects.create(organization=org_a, name="Quiet")
    now = timezone.now().replace(microsecond=0)
    for each in (schedule, quiet):
        layer = ScheduleLayer.objects.create(
            organization=org_a,
            schedule=each,
            rotation_unit="hours",
            rotation_length=8,
            rotation_start=now - dt.timedelta(hours=8, minutes=5),
        )
        layer.memberships.create(organization=org_a, user=bo, position=0)
        layer.memberships.create(organization=org_a, user=ana, position=1)
    assert notify_handoffs(now) == 1
    assert notify_handoffs(now + dt.timedelta(minutes=5)) == 0  # told once
    (message,) = mail.outbox
    assert message.to == ["ana@example.com"]
    assert "You are now on call for Primary until" in message.subject
    assert NotificationHistory.objects.get().status == "sent"
