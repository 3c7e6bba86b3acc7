"""Delivering pages: personal notification rules, channels, retries, exactly once.

A page (``incident_notifications`` row, queued by the escalation sweep) is expanded into
``notification_history`` rows, one per contact method and rule step, each with an
idempotency key. Sending a row first *claims* it (status ``sending``, committed) and only
then calls the provider, so:

- a redelivered Celery task or a second worker finds the row claimed and sends nothing;
- a worker killed after the provider accepted never sends a second SMS: a claim left
  hanging is, for channels whose provider de-duplicates (e-mail by Message-ID, webhooks by
  Idempotency-Key), retried; for the others (SMS, voice, chat) marked failed with the
  outcome unknown — visible, never silently dropped, and escalation goes on meanwhile.

Transient failures (5xx, timeouts) are retried with exponential back-off; permanent ones
(4xx, a bad number) are not. A channel without credentials is recorded as ``skipped``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from accounts.models import UserContactMethod, UserNotificationPreference
from incidents.action_tokens import action_url
from incidents.channels import Message, deliver
from incidents.models import (
    Incident,
    IncidentNotification,
    IncidentUpdate,
    NotificationHistory,
    NotificationRule,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_BASE = dt.timedelta(seconds=30)
CLAIM_TIMEOUT = dt.timedelta(minutes=5)
REENQUEUE_AFTER = dt.timedelta(seconds=60)
#: Channels whose provider recognises a resent message, so an unknown outcome may be retried.
DEDUPLICATING_CHANNELS = {"email", "webhook"}
#: Reasons a page exists only while the incident is still unacknowledged.
WHILE_TRIGGERED = {"escalation", "assignment"}


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... after the ``attempts``-th failed try."""
    return BACKOFF_BASE * (2 ** max(attempts - 1, 0))


def expand_page(page_id: str) -> list[str]:
    """Turn one page into delivery rows by the person's notification rules.

    Returns the ids of rows due now (the caller sends them after commit). Idempotent: a
    second call for the same page finds its rows by idempotency key and adds nothing.
    """
    with transaction.atomic():
        page = (
            # of=self: locking the joined incident would make pages of one incident skip
            # each other.
            IncidentNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("incident", "user")
            .filter(pk=page_id)
            .exclude(status__in=[IncidentNotification.Status.DONE, "cancelled"])
            .first()
        )
        if page is None:
            return []
        if page.reason in WHILE_TRIGGERED and page.incident.status != Incident.Status.TRIGGERED:
            page.status = IncidentNotification.Status.CANCELLED
            page.save(update_fields=["status"])
            return []
        now = timezone.now()
        rows = []
        for method, delay in _steps(page):
            due = now + dt.timedelta(minutes=delay)
            if page.urgency == "low":
                due = _after_quiet_hours(page.user, due)
            rows.append(
                NotificationHistory(
                    organization_id=page.organization_id,
                    incident=page.incident,
                    page=page,
                    user=page.user,
                    contact_method=method,
                    channel=method.method_type,
                    target=method.value,
                    idempotency_key=f"page:{page.pk}:{method.pk}:{delay}",
                    next_attempt_at=due,
                )
            )
        if not rows:
            rows.append(
                NotificationHistory(
                    organization_id=page.organization_id,
                    incident=page.incident,
                    page=page,
                    user=page.user,
                    channel="none",
                    idempotency_key=f"page:{page.pk}:none",
                    status=NotificationHistory.Status.SKIPPED,
                    error="no contact method",
                )
            )
        NotificationHistory.objects.bulk_create(rows, ignore_conflicts=True)
        page.status = IncidentNotification.Status.DONE
        page.save(update_fields=["status"])
        return [
            str(pk)
            for pk in NotificationHistory.objects.filter(
                page=page, status=NotificationHistory.Status.QUEUED, next_attempt_at__lte=now
            ).values_list("pk", flat=True)
        ]


def _steps(page: IncidentNotification) -> list[tuple[UserContactMethod, int]]:
    """(contact method, delay in minutes) pairs: the user's rules, or every method at once."""
    rules = NotificationRule.objects.filter(
        organization_id=page.organization_id, user=page.user, urgency=page.urgency
    ).select_related("contact_method")
    steps = [(rule.contact_method, rule.start_delay_minutes) for rule in rules]
    if not steps:
        steps = [(method, 0) for method in page.user.contact_methods.all()]
    return steps


def _after_quiet_hours(user, due: dt.datetime) -> dt.datetime:
    """Hold a low-urgency notification until the user's quiet hours are over."""
    preference = UserNotificationPreference.objects.filter(user=user).first()
    return due if preference is None else preference.quiet_hours_over(due)


def send(history_id: str) -> str | None:
    """Send one delivery row if it is due and unclaimed; returns the final status or None."""
    claimed = (
        NotificationHistory.objects.filter(
            pk=history_id, status=NotificationHistory.Status.QUEUED, next_attempt_at__lte=Now()
        ).update(status=NotificationHistory.Status.SENDING, claimed_at=Now(), updated_at=Now())
        == 1
    )
    if not claimed:
        return None  # another worker has it, or it is done, or not due yet
    row = NotificationHistory.objects.select_related("incident", "incident__service", "user").get(
        pk=history_id
    )
    incident = row.incident
    page_reason = row.page.reason if row.page_id else ""
    if (
        incident is not None
        and page_reason in WHILE_TRIGGERED
        and incident.status != Incident.Status.TRIGGERED
    ):
        _finish(row, NotificationHistory.Status.CANCELLED, error=f"incident {incident.status}")
        return row.status
    result = deliver(row.channel, row.target, build_message(row))
    row.attempts += 1
    if result.status in ("sent", "delivered"):
        _finish(row, result.status, provider_id=result.provider_id)
    elif result.status == "skipped":
        _finish(row, NotificationHistory.Status.SKIPPED, error=result.skipped_reason)
    elif result.retryable and row.attempts < MAX_ATTEMPTS:
        NotificationHistory.objects.filter(pk=row.pk).update(
            status=NotificationHistory.Status.QUEUED,
            attempts=row.attempts,
            error=result.error,
            next_attempt_at=timezone.now() + backoff(row.attempts),
            enqueued_at=None,
            updated_at=Now(),
        )
        return NotificationHistory.Status.QUEUED
    else:
        _finish(row, NotificationHistory.Status.FAILED, error=result.error)
    return row.status


def _finish(row: NotificationHistory, status: str, *, error: str = "", provider_id: str = ""):
    row.status = status
    with transaction.atomic():
        NotificationHistory.objects.filter(pk=row.pk).update(
            status=status,
            attempts=row.attempts,
            error=error,
            provider_id=provider_id,
            sent_at=Now() if status in ("sent", "delivered") else None,
            updated_at=Now(),
        )
        if row.incident_id:
            words = {"sent": "sent", "delivered": "delivered", "skipped": "skipped"}.get(
                status, status
            )
            detail = f" ({error})" if error else ""
            IncidentUpdate.objects.create(
                organization_id=row.organization_id,
                incident_id=row.incident_id,
                update_type=IncidentUpdate.Kind.NOTIFICATION,
                message=f"{row.channel} to {row.user or row.target}: {words}{detail}",
                user=row.user,
                metadata={
                    "channel": row.channel,
                    "status": status,
                    "history": str(row.pk),
                    "attempts": row.attempts,
                },
            )


def build_message(row: NotificationHistory) -> Message:
    incident = row.incident
    if incident is None:
        return Message(
            incident_id="", title=row.subject or "Alert24 test notification", status="info"
        )
    user_id = row.user_id or ""
    personal = row.channel in ("email", "sms", "voice") and user_id
    return Message(
        incident_id=str(incident.pk),
        title=incident.title,
        summary=incident.description,
        severity=incident.severity,
        urgency=incident.urgency,
        status=incident.status,
        service_name=incident.service.name if incident.service_id else "",
        incident_url=f"{settings.SITE_URL}/incidents/{incident.pk}/",
        acknowledge_url=action_url(incident.pk, user_id, "acknowledge") if personal else "",
        resolve_url=action_url(incident.pk, user_id, "resolve") if personal else "",
        idempotency_key=row.idempotency_key,
    )


def notify_person(
    user, organization_id, subject: str, key: str, channels: tuple[str, ...] = ("email",)
) -> list[str]:
    """Queue a notification that is not about an incident (a hand-off, a test) to ``user``.

    One row per contact method on ``channels``; ``key`` makes it happen once. Returns the
    ids of rows created now, to send.
    """
    rows = [
        NotificationHistory(
            organization_id=organization_id,
            user=user,
            contact_method=method,
            channel=method.method_type,
            target=method.value,
            subject=subject,
            idempotency_key=f"{key}:{method.pk}",
        )
        for method in user.contact_methods.filter(method_type__in=channels)
    ]
    NotificationHistory.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.idempotency_key for row in rows]
    return [
        str(pk)
        for pk in NotificationHistory.objects.filter(
            idempotency_key__in=keys, status=NotificationHistory.Status.QUEUED, attempts=0
        ).values_list("pk", flat=True)
    ]


def due_rows(limit: int = 500) -> list[str]:
    """Rows due for a (re)try that no task is known to carry: marks them enqueued."""
    stale = timezone.now() - REENQUEUE_AFTER
    with transaction.atomic():
        ids = list(
            NotificationHistory.objects.select_for_update(skip_locked=True)
            .filter(status=NotificationHistory.Status.QUEUED, next_attempt_at__lte=Now())
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .values_list("pk", flat=True)[:limit]
        )
        NotificationHistory.objects.filter(pk__in=ids).update(enqueued_at=Now())
    return [str(pk) for pk in ids]


def reap_abandoned_claims() -> int:
    """Claims older than CLAIM_TIMEOUT belong to a worker that died mid-send."""
    cutoff = timezone.now() - CLAIM_TIMEOUT
    abandoned = NotificationHistory.objects.filter(
        status=NotificationHistory.Status.SENDING, claimed_at__lt=cutoff
    )
    retried = abandoned.filter(channel__in=DEDUPLICATING_CHANNELS).update(
        status=NotificationHistory.Status.QUEUED,
        next_attempt_at=Now(),
        enqueued_at=None,
        error="worker stopped mid-send; retrying (the provider de-duplicates)",
        updated_at=Now(),
    )
    failed = abandoned.exclude(channel__in=DEDUPLICATING_CHANNELS).update(
        status=NotificationHistory.Status.FAILED,
        error="worker stopped mid-send; outcome unknown, not resent to avoid a duplicate",
        updated_at=Now(),
    )
    return retried + failed
