"""What responders and integrations do to incidents.

Every function is idempotent where a person might click twice (acknowledging an
acknowledged incident is a no-op, not an error) and refuses cleanly what no longer makes
sense (acting on a resolved incident). The rules that must hold for raw SQL writers too —
timestamps, audit log, timeline of status changes, starting and stopping escalation — live
in ``incidents/sql/incident_lifecycle.sql``; these functions only state intent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.contrib.postgres.functions import TransactionNow
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from alert24 import redis_clients
from incidents.models import (
    EscalationPolicy,
    Incident,
    IncidentAssignment,
    IncidentEscalation,
    IncidentNotification,
    IncidentUpdate,
    Service,
    Severity,
)

log = logging.getLogger(__name__)


class IncidentClosed(ValidationError):
    """The incident is already resolved (perhaps in another tab)."""


@dataclass
class Opened:
    incident: Incident
    created: bool


@contextmanager
def acting(user: User | None, reason: str = "") -> Iterator[None]:
    """Tell the database triggers who acts and why, for the audit log and the timeline."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.current_user_id', true),"
            " current_setting('app.status_change_reason', true)"
        )
        previous_user, previous_reason = cursor.fetchone()
        cursor.execute(
            "SELECT set_config('app.current_user_id', %s, true),"
            " set_config('app.status_change_reason', %s, true)",
            [str(user.pk) if user else (previous_user or ""), reason],
        )
        yield
        cursor.execute(
            "SELECT set_config('app.current_user_id', %s, true),"
            " set_config('app.status_change_reason', %s, true)",
            [previous_user or "", previous_reason or ""],
        )


def open_incident(
    service: Service,
    title: str,
    *,
    description: str = "",
    severity: str = Severity.HIGH,
    dedup_key: str | None = None,
    source: str = Incident.Source.MANUAL,
    details: dict[str, Any] | None = None,
    created_by: User | None = None,
    urgency: str | None = None,
) -> Opened:
    """Open an incident on ``service``, or fold into the open one with ``dedup_key``."""
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Use one of {', '.join(Severity.values)}."})
    if not (title or "").strip():
        raise ValidationError({"title": "An incident needs a title."})
    if service.status != Service.Status.ACTIVE:
        raise ValidationError({"service": f"Service {service.name} is disabled."})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT incident_id, created FROM open_incident(%s, %s, %s, %s, %s, %s, %s::jsonb,"
            " %s, %s)",
            [
                service.pk,
                title,
                description,
                severity,
                dedup_key,
                source,
                json.dumps(details or {}),
                created_by.pk if created_by else None,
                urgency,
            ],
        )
        incident_id, created = cursor.fetchone()
        if created:
            transaction.on_commit(kick_escalation_sweep)
    return Opened(Incident.objects.get(pk=incident_id), created)


# The kick is debounced across all web processes: one immediate sweep per window, and at
# most one trailing sweep that starts after the window, so every incident committed in the
# window is swept within it while a burst of thousands of events costs two Celery messages.
KICK_WINDOW_MS = 500
_KICK_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return {0, 0} end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return {1, tonumber(ARGV[1])} end
return {2, redis.call('PTTL', KEYS[2])}
"""
_KICK_KEYS = ["alert24:escalation-kick:now", "alert24:escalation-kick:trailing"]
_KICK_MARGIN = 0.05  # seconds of clock and round-trip slack when trusting a trailing kick
_kick_covered_until = 0.0  # monotonic time before which a queued trailing sweep covers us
_kick_redis_down_until = 0.0


def kick_escalation_sweep() -> None:
    """Page at once instead of waiting for the next beat tick (beat stays the safety net).

    Call it after the commit that made an incident due (``transaction.on_commit``). Cheap
    enough for the events hot path: most calls return without a round trip (a trailing
    sweep this process knows about already covers them), the rest cost one Redis script.
    If Redis is unreachable nothing is sent — the broker is the same Redis, and beat pages
    once it is back — so an outage never slows down opening incidents.
    """
    global _kick_covered_until, _kick_redis_down_until
    now = time.monotonic()
    if now < _kick_covered_until or now < _kick_redis_down_until:
        return
    try:
        decision, wait_ms = _kick_script()(keys=_KICK_KEYS, args=[KICK_WINDOW_MS])
    except redis.RedisError:
        _kick_redis_down_until = now + 5.0
        log.warning("escalation kick skipped: Redis is unreachable", exc_info=True)
        return
    if decision == 2:  # a trailing sweep is queued and starts when its key expires
        _kick_covered_until = now + wait_ms / 1000 - _KICK_MARGIN
        return
    countdown = None
    if decision == 1:
        countdown = KICK_WINDOW_MS / 1000
        _kick_covered_until = now + countdown - _KICK_MARGIN
    _send_escalation_sweep(countdown)


def _kick_script() -> Any:
    return redis_clients.script(_KICK_SCRIPT, timeout=0.25)


def _send_escalation_sweep(countdown: float | None) -> None:
    from incidents.tasks import run_escalation_sweep

    try:
        run_escalation_sweep.apply_async(
            queue=settings.NOTIFICATIONS_QUEUE, expires=30, countdown=countdown
        )
    except Exception:
        # The broker being down must not fail the incident: beat's next tick pages instead.
        log.warning("could not enqueue an immediate escalation sweep", exc_info=True)


def _change_status(incident: Incident, new_status: str, user: User | None, reason: str) -> bool:
    """Move ``incident`` to ``new_status`` if it is not there yet; True when it moved."""
    with acting(user, reason):
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        if current.status == new_status:
            _refresh(incident, current)
            return False
        if current.status == Incident.Status.RESOLVED:
            _refresh(incident, current)
            raise IncidentClosed({"status": "This incident is already resolved."})
        fields = {"status": new_status}
        if new_status == Incident.Status.ACKNOWLEDGED:
            fields["acknowledged_by"] = user
        elif new_status == Incident.Status.RESOLVED:
            fields["resolved_by"] = user
        Incident.objects.filter(pk=incident.pk).update(**fields)
        _refresh(incident, Incident.objects.get(pk=incident.pk))
        return True


def _refresh(target: Incident, source: Incident) -> None:
    for field in Incident._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def acknowledge(incident: Incident, user: User | None, reason: str = "") -> bool:
    return _change_status(incident, Incident.Status.ACKNOWLEDGED, user, reason)


def resolve(incident: Incident, user: User | None, reason: str = "") -> bool:
    return _change_status(incident, Incident.Status.RESOLVED, user, reason)


def snooze(incident: Incident, user: User, duration: dt.timedelta) -> None:
    """Acknowledge and keep quiet for ``duration``; then the incident triggers again."""
    if duration <= dt.timedelta(0) or duration > dt.timedelta(days=7):
        raise ValidationError({"duration": "Snooze for between a minute and 7 days."})
    with acting(user, f"snoozed for {_human(duration)}"):
        acknowledge(incident, user, f"snoozed for {_human(duration)}")
        Incident.objects.filter(pk=incident.pk).update(snoozed_until=timezone.now() + duration)
        incident.refresh_from_db()


def _human(duration: dt.timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def add_note(incident: Incident, user: User | None, message: str) -> IncidentUpdate:
    if not (message or "").strip():
        raise ValidationError({"message": "A note cannot be empty."})
    return IncidentUpdate.objects.create(
        organization_id=incident.organization_id,
        incident=incident,
        update_type=IncidentUpdate.Kind.NOTE,
        message=message.strip()[:10_000],
        user=user,
    )


def set_severity(incident: Incident, user: User | None, severity: str) -> None:
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Use one of {', '.join(Severity.values)}."})
    with transaction.atomic():
        previous = Incident.objects.select_for_update().get(pk=incident.pk).severity
        if previous == severity:
            return
        Incident.objects.filter(pk=incident.pk).update(severity=severity)
        incident.severity = severity
        IncidentUpdate.objects.create(
            organization_id=incident.organization_id,
            incident=incident,
            update_type=IncidentUpdate.Kind.SEVERITY,
            message=f"Severity {previous} → {severity}",
            user=user,
            metadata={"from": previous, "to": severity},
        )


def reassign_to_user(incident: Incident, assignee: User, by: User | None) -> None:
    """Make ``assignee`` the responder and page them now (PagerDuty's reassign)."""
    if not assignee.memberships.filter(organization_id=incident.organization_id).exists():
        raise ValidationError({"assignee": "Choose a member of this organization."})
    with transaction.atomic():
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        if current.status == Incident.Status.RESOLVED:
            raise IncidentClosed({"status": "This incident is already resolved."})
        IncidentAssignment.objects.filter(incident=incident).exclude(user=assignee).delete()
        IncidentAssignment.objects.get_or_create(
            organization_id=incident.organization_id,
            incident=incident,
            user=assignee,
            defaults={"assigned_by": by},
        )
        step = IncidentUpdate.objects.filter(
            incident=incident, update_type=IncidentUpdate.Kind.ASSIGNMENT
        ).count()
        IncidentNotification.objects.get_or_create(
            organization_id=incident.organization_id,
            incident=incident,
            user=assignee,
            reason="assignment",
            cycle=0,
            escalation_level=step,
            repetition=0,
            defaults={"urgency": current.urgency},
        )
        IncidentUpdate.objects.create(
            organization_id=incident.organization_id,
            incident=incident,
            update_type=IncidentUpdate.Kind.ASSIGNMENT,
            message=f"Reassigned to {assignee}",
            user=by,
            metadata={"user": str(assignee.pk)},
        )
    transaction.on_commit(kick_escalation_sweep)


def reassign_to_policy(incident: Incident, policy: EscalationPolicy, by: User | None) -> None:
    """Hand the incident to another escalation policy, escalating from its first level."""
    if policy.organization_id != incident.organization_id:
        raise ValidationError({"escalation_policy": "Choose a policy of this organization."})
    with transaction.atomic(), connection.cursor() as cursor:
        current = Incident.objects.select_for_update().get(pk=incident.pk)
        if current.status == Incident.Status.RESOLVED:
            raise IncidentClosed({"status": "This incident is already resolved."})
        Incident.objects.filter(pk=incident.pk).update(escalation_policy=policy)
        pending = current.status == Incident.Status.TRIGGERED
        cursor.execute(
            """
            INSERT INTO incident_escalations (organization_id, incident_id, escalation_policy_id,
                                              policy_snapshot, status, next_escalation_at)
            VALUES (%(org)s, %(incident)s, %(policy)s, escalation_policy_snapshot(%(policy)s),
                    %(status)s, now())
            ON CONFLICT (incident_id) DO UPDATE
            SET escalation_policy_id = EXCLUDED.escalation_policy_id,
                policy_snapshot = EXCLUDED.policy_snapshot, status = EXCLUDED.status,
                current_level = 0, repetition = 0, handoffs = 0,
                cycle = incident_escalations.cycle + 1, next_escalation_at = now(),
                updated_at = now()
            """,
            {
                "org": incident.organization_id,
                "incident": incident.pk,
                "policy": policy.pk,
                "status": "pending" if pending else "completed",
            },
        )
        IncidentUpdate.objects.create(
            organization_id=incident.organization_id,
            incident=incident,
            update_type=IncidentUpdate.Kind.ASSIGNMENT,
            message=f"Reassigned to escalation policy {policy.name}",
            user=by,
            metadata={"escalation_policy": str(policy.pk)},
        )
    transaction.on_commit(kick_escalation_sweep)


def escalate_now(incident: Incident, by: User | None) -> bool:
    """Skip the wait: the next sweep escalates to the next level."""
    with transaction.atomic():
        moved = IncidentEscalation.objects.filter(incident=incident, status="pending").update(
            next_escalation_at=TransactionNow()
        )
        if moved:
            IncidentUpdate.objects.create(
                organization_id=incident.organization_id,
                incident=incident,
                update_type=IncidentUpdate.Kind.ESCALATION,
                message="Escalated manually",
                user=by,
            )
    if moved:
        transaction.on_commit(kick_escalation_sweep)
    return bool(moved)


def merge(target: Incident, duplicates: Sequence[Incident], by: User | None) -> int:
    """Fold duplicates into ``target``: they resolve, pointing at it; its timeline says so."""
    merged = 0
    with acting(by, f"merged into incident {target.pk}"):
        locked = Incident.objects.select_for_update().get(pk=target.pk)
        if locked.status == Incident.Status.RESOLVED:
            raise IncidentClosed({"target": "Merge into an open incident."})
        for duplicate in duplicates:
            if duplicate.pk == target.pk:
                raise ValidationError({"incidents": "An incident cannot merge into itself."})
            if duplicate.organization_id != target.organization_id:
                raise ValidationError({"incidents": "Incidents of another organization."})
            current = Incident.objects.select_for_update().get(pk=duplicate.pk)
            if current.merged_into_id:
                continue
            Incident.objects.filter(pk=duplicate.pk).update(merged_into=target)
            if current.status != Incident.Status.RESOLVED:
                Incident.objects.filter(pk=duplicate.pk).update(status="resolved", resolved_by=by)
            IncidentUpdate.objects.create(
                organization_id=target.organization_id,
                incident=target,
                update_type=IncidentUpdate.Kind.MERGE,
                message=f"Merged: {current.title}",
                user=by,
                metadata={"merged_incident": str(current.pk)},
            )
            merged += 1
    return merged
