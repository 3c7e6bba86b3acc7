"""Hand-off notifications: "you are on call for Primary until Monday 09:00".

For schedules that ask for them. Beat runs :func:`notify_handoffs` every few minutes; it
looks back over a window longer than its period, and each hand-off has an idempotency key,
so a late or repeated run tells nobody twice and a missed run still tells everyone.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from alert24.tenancy import organization_scope
from incidents import delivery, oncall
from incidents.models import OnCallSchedule

LOOKBACK = dt.timedelta(minutes=15)


def notify_handoffs(now: dt.datetime | None = None) -> int:
    """Notify everyone whose shift started in the last LOOKBACK; returns rows sent."""
    now = now or timezone.now()
    due: list[str] = []
    schedules = list(OnCallSchedule.objects.filter(handoff_notifications=True))
    for schedule in schedules:
        with organization_scope(schedule.organization_id):
            for shift in oncall.handoffs(schedule, now - LOOKBACK, now + dt.timedelta(seconds=1)):
                if shift.user is None or shift.start > now:
                    continue
                local_end = shift.end.astimezone(shift.user.zone)
                subject = (
                    f"You are now on call for {schedule.name} until "
                    f"{local_end:%a %d %b %H:%M} ({shift.user.time_zone})"
                )
                key = f"handoff:{schedule.pk}:{shift.user_id}:{shift.start.isoformat()}"
                due += delivery.notify_person(shift.user, schedule.organization_id, subject, key)
    # Sent outside the scope's transaction: each send commits its claim before the call.
    for history_id in due:
        delivery.send(history_id)
    return len(due)
