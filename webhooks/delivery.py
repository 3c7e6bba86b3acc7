"""Sending webhook deliveries: claim, POST signed JSON, log the attempt, retry with back-off.

Rows come from the database triggers (``webhooks/sql/webhook_events.sql``) or from the admin
actions below. Nothing is sent from inside the transaction that made the event; the beat
sweep (:func:`dispatch`, every 2 s) hands due rows to workers, and the admin actions kick a
worker after their commit. A row is *claimed* (``pending`` → ``sending``, committed) before
the request goes out, so a redelivered Celery message or a second worker sends nothing; a
claim left by a worker that died is released after ``CLAIM_TIMEOUT`` and the event is sent
again with the same ``X-Alert24-Event-Id``, which is how receivers drop the duplicate.

Network errors, timeouts, 408, 429 and 5xx are retried with exponential back-off (honouring
``Retry-After``) up to ``MAX_ATTEMPTS`` tries; other answers fail the delivery at once.
Deliveries of one endpoint are not ordered: payloads carry ``created_at``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from incidents.channels._http import post
from webhooks import signing
from webhooks.events import PING
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=10)
BACKOFF_CAP = dt.timedelta(hours=1)
CLAIM_TIMEOUT = dt.timedelta(minutes=2)
REENQUEUE_AFTER = dt.timedelta(seconds=60)
DISPATCH_BATCH = 500
RESPONSE_BODY_LIMIT = 2048
USER_AGENT = "Alert24-Webhooks/1.0"
RETRYABLE_STATUS = {408, 425, 429}


def queue() -> str:
    """The Celery queue deliveries go to (``WEBHOOKS_QUEUE``, else the default queue)."""
    return getattr(settings, "WEBHOOKS_QUEUE", "") or settings.CELERY_TASK_DEFAULT_QUEUE


def backoff(attempts: int) -> dt.timedelta:
    """10 s, 20 s, 40 s, ... after the ``attempts``-th failed try, at most an hour."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def body_for(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed (and signed): the stored payload plus links into Alert24."""
    payload = event.payload
    incident = (payload.get("data") or {}).get("incident")
    if event.event_type.startswith("incident.") and isinstance(incident, dict):
        incident["html_url"] = f"{settings.SITE_URL}/incidents/{incident.get('id')}/"
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(delivery_id: str) -> str | None:
    """Send one delivery if it is due and unclaimed; returns its new status or None."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=Now()
    ).update(status=WebhookDelivery.Status.SENDING, claimed_at=Now(), updated_at=Now())
    if not claimed:
        return None  # another worker has it, it is done, or it is not due yet
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    event, endpoint = delivery.event, delivery.endpoint
    number = delivery.attempt_log.count() + 1
    started = timezone.now()
    if not endpoint.enabled and event.event_type != PING:
        return _record(delivery, number, started, None, error="endpoint disabled", retryable=False)

    body = body_for(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.EVENT_TYPE_HEADER: event.event_type,
        signing.EVENT_ID_HEADER: str(event.pk),
        signing.DELIVERY_HEADER: str(delivery.pk),
        signing.ATTEMPT_HEADER: str(number),
        signing.SIGNATURE_HEADER: signing.signature_header(endpoint.secret, body),
    }
    clock = time.monotonic()
    response, failure = post(endpoint.url, content=body, headers=headers)
    elapsed_ms = round((time.monotonic() - clock) * 1000)
    if failure is not None:
        return _record(
            delivery, number, started, elapsed_ms, error=failure.error, retryable=failure.retryable
        )
    assert response is not None
    code = response.status_code
    text = response.text[:RESPONSE_BODY_LIMIT]
    if 200 <= code < 300:
        return _record(delivery, number, started, elapsed_ms, code=code, text=text)
    retryable = code >= 500 or code in RETRYABLE_STATUS
    error = f"HTTP {code}"
    if 300 <= code < 400:
        error += f": redirects are not followed (to {response.headers.get('location', '?')})"
    return _record(
        delivery,
        number,
        started,
        elapsed_ms,
        code=code,
        text=text,
        error=error,
        retryable=retryable,
        retry_after=_retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> dt.timedelta | None:
    try:
        seconds = int(value or "")
    except ValueError:
        return None
    return dt.timedelta(seconds=seconds) if seconds > 0 else None


def _record(
    delivery: WebhookDelivery,
    number: int,
    started: dt.datetime,
    elapsed_ms: int | None,
    *,
    code: int | None = None,
    text: str = "",
    error: str = "",
    retryable: bool = False,
    retry_after: dt.timedelta | None = None,
) -> str:
    """Log the attempt and move the delivery on: delivered, retry later, or failed."""
    succeeded = not error
    attempts = delivery.attempts + 1
    fields: dict = {"attempts": attempts, "last_status_code": code, "last_error": error}
    if succeeded:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=Now())
    elif retryable and attempts < MAX_ATTEMPTS:
        wait = max(backoff(attempts), min(retry_after or dt.timedelta(0), BACKOFF_CAP))
        fields.update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now() + wait,
            enqueued_at=None,
        )
    else:
        fields.update(status=WebhookDelivery.Status.FAILED)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            organization_id=delivery.organization_id,
            delivery=delivery,
            number=number,
            started_at=started,
            duration_ms=elapsed_ms,
            status_code=code,
            response_body=text,
            error=error,
            succeeded=succeeded,
        )
        WebhookDelivery.objects.filter(pk=delivery.pk).update(updated_at=Now(), **fields)
    return fields["status"]


def dispatch(limit: int = DISPATCH_BATCH) -> int:
    """The beat sweep: release dead claims, then hand due deliveries to the workers."""
    reap_abandoned_claims()
    stale = timezone.now() - REENQUEUE_AFTER
    with transaction.atomic():
        ids = [
            str(pk)
            for pk in WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=Now())
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        ]
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=Now())
            transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


def _enqueue(delivery_ids: Iterable[str]) -> None:
    from webhooks.tasks import deliver_webhook

    try:
        for delivery_id in delivery_ids:
            deliver_webhook.apply_async(args=[str(delivery_id)], queue=queue(), expires=300)
    except Exception:
        # The broker being down loses no delivery: the rows stay pending for the sweep.
        log.warning("could not enqueue webhook deliveries", exc_info=True)


def reap_abandoned_claims() -> int:
    """Claims older than CLAIM_TIMEOUT belong to a worker that died mid-request: retry them.

    The receiver may have got the first request; the event id lets it drop the repeat.
    """
    return WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, claimed_at__lt=timezone.now() - CLAIM_TIMEOUT
    ).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=Now(),
        enqueued_at=None,
        last_error="worker stopped mid-request; retrying (same event id)",
        updated_at=Now(),
    )


def redeliver(deliveries: Iterable[WebhookDelivery]) -> int:
    """Queue finished deliveries again (same event id and body) and send after commit."""
    ids = [d.pk for d in deliveries if d.status != WebhookDelivery.Status.SENDING]
    with transaction.atomic():
        updated = [
            str(pk)
            for pk in WebhookDelivery.objects.filter(pk__in=ids)
            .exclude(status=WebhookDelivery.Status.SENDING)
            .values_list("pk", flat=True)
        ]
        WebhookDelivery.objects.filter(pk__in=updated).update(
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            next_attempt_at=Now(),
            enqueued_at=Now(),
            claimed_at=None,
            last_error="",
            updated_at=Now(),
        )
        transaction.on_commit(lambda: _enqueue(updated))
    return len(updated)


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``ping`` event for one endpoint (enabled or not), sent after commit."""
    event_id = uuid.uuid4()
    organization = endpoint.organization
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            id=event_id,
            organization_id=endpoint.organization_id,
            event_type=PING,
            payload={
                "id": str(event_id),
                "type": PING,
                "created_at": timezone.now().isoformat().replace("+00:00", "Z"),
                "organization": {
                    "id": str(organization.pk),
                    "slug": organization.slug,
                    "name": organization.name,
                },
                "data": {
                    "message": "Test event from Alert24: your endpoint is reachable.",
                    "endpoint": {"id": str(endpoint.pk), "url": endpoint.url},
                },
            },
        )
        delivery = WebhookDelivery.objects.create(
            organization_id=endpoint.organization_id,
            event=event,
            endpoint=endpoint,
            enqueued_at=timezone.now(),
        )
        transaction.on_commit(lambda: _enqueue([str(delivery.pk)]))
    return delivery


def delete_old_events(days: int | None = None) -> int:
    """Delete events (with their deliveries and attempts) older than the retention."""
    days = settings.RETENTION_NOTIFICATION_HISTORY_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM webhook_attempts t USING webhook_deliveries d, webhook_events e"
            " WHERE t.delivery_id = d.id AND d.event_id = e.id AND e.created_at < %s",
            [cutoff],
        )
        cursor.execute(
            "DELETE FROM webhook_deliveries d USING webhook_events e"
            " WHERE d.event_id = e.id AND e.created_at < %s",
            [cutoff],
        )
        cursor.execute("DELETE FROM webhook_events WHERE created_at < %s", [cutoff])
        return cursor.rowcount
