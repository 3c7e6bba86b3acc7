"""Subscribers: double opt-in, signed one-click unsubscribe, and delivery of queued notices.

Nothing here tells a visitor whether an address is already subscribed: subscribing an
existing address answers exactly like a new one (at most it re-sends the confirmation to
that address, which only its owner can read). Tokens are Django signatures over the
subscriber id, so they cannot be forged or guessed, and carry no personal data.

Delivery goes through :func:`incidents.channels.deliver` (e-mail, SMS, webhook); it runs
as the schema owner — the system path — because one sweep serves every organization.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.validators import validate_e164
from incidents.channels import DeliveryResult, Message, deliver
from statuspages.models import (
    Component,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncidentUpdate,
    Subscriber,
    SubscriberComponent,
    SubscriberNotification,
)
from statuspages.rendering import markdown_to_text

log = logging.getLogger(__name__)

CONFIRM_SALT = "statuspages.subscriber.confirm"
UNSUBSCRIBE_SALT = "statuspages.subscriber.unsubscribe"
CONFIRM_MAX_AGE = 7 * 24 * 3600
MAX_ATTEMPTS = 5


class InvalidToken(Exception):
    """A confirmation or unsubscribe link that was forged, mangled or has expired."""


@dataclass
class SubscribeResult:
    """What happened, for the caller's logs; the visitor is told the same thing either way."""

    subscriber: Subscriber
    created: bool
    confirmation_needed: bool


def page_url(page: StatusPage, path: str = "") -> str:
    """Absolute URL of a page (its custom domain when it has one)."""
    if page.custom_domain:
        return f"https://{page.custom_domain}/{path}"
    return f"{settings.SITE_URL}/status/{page.slug}/{path}"


def confirmation_token(subscriber: Subscriber) -> str:
    return signing.dumps(str(subscriber.pk), salt=CONFIRM_SALT)


def unsubscribe_token(subscriber: Subscriber) -> str:
    return signing.dumps(str(subscriber.pk), salt=UNSUBSCRIBE_SALT)


def _subscriber_from(token: str, salt: str, page: StatusPage, max_age: int | None) -> Subscriber:
    try:
        pk = uuid.UUID(signing.loads(token, salt=salt, max_age=max_age))
    except (signing.BadSignature, ValueError, TypeError):
        raise InvalidToken("This link is not valid: it may be mistyped or expired.") from None
    subscriber = Subscriber.objects.filter(pk=pk, status_page=page).first()
    if subscriber is None:
        raise InvalidToken("This link is not valid for this status page.")
    return subscriber


def normalise_target(channel: str, target: str) -> str:
    """Validate and normalise an address; raises ValidationError with a clear message."""
    target = (target or "").strip()
    if channel == Subscriber.Channel.EMAIL:
        target = target.lower()
        validate_email(target)
    elif channel == Subscriber.Channel.SMS:
        validate_e164(target)
    elif channel == Subscriber.Channel.WEBHOOK:
        URLValidator(schemes=["https", "http"], message="Enter a valid http(s) URL.")(target)
    else:
        raise ValidationError("Choose e-mail, SMS or webhook.")
    if len(target) > 500:
        raise ValidationError("This address is too long.")
    return target


def subscribe(
    page: StatusPage,
    channel: str,
    target: str,
    components: Iterable[Component | uuid.UUID | str] = (),
) -> SubscribeResult:
    """Subscribe ``target`` to ``page`` (optionally to some components only).

    E-mail and SMS need confirming through a signed link sent to the address (double
    opt-in); webhooks are active at once (there is nobody to click). An address already
    known gets its confirmation re-sent if still unconfirmed or unsubscribed, and nothing
    otherwise; a confirmed subscriber's components are not changed by a stranger's form.
    """
    target = normalise_target(channel, target)
    component_ids = {c.pk if isinstance(c, Component) else uuid.UUID(str(c)) for c in components}
    if component_ids:
        found = set(
            Component.objects.filter(status_page=page, pk__in=component_ids).values_list(
                "pk", flat=True
            )
        )
        if found != component_ids:
            raise ValidationError("Choose components of this status page.")
    needs_confirmation = channel != Subscriber.Channel.WEBHOOK
    with transaction.atomic():
        existing = (
            Subscriber.objects.select_for_update()
            .filter(status_page=page, channel=channel, target__iexact=target)
            .first()
        )
        created = existing is None
        if created:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(
                        organization_id=page.organization_id,
                        status_page=page,
                        channel=channel,
                        target=target,
                        confirmed_at=None if needs_confirmation else timezone.now(),
                    )
            except IntegrityError:
                # A concurrent request subscribed the same address first: same answer.
                subscriber = Subscriber.objects.get(
                    status_page=page, channel=channel, target__iexact=target
                )
                return SubscribeResult(subscriber, False, False)
            SubscriberComponent.objects.bulk_create(
                SubscriberComponent(
                    organization_id=page.organization_id,
                    subscriber=subscriber,
                    component_id=pk,
                )
                for pk in component_ids
            )
        else:
            subscriber = existing
            if subscriber.unsubscribed_at is not None:
                # Coming back: confirm again, so nobody can re-subscribe someone else.
                subscriber.unsubscribed_at = None
                subscriber.confirmed_at = None if needs_confirmation else timezone.now()
                subscriber.save(update_fields=["unsubscribed_at", "confirmed_at"])
                SubscriberComponent.objects.filter(subscriber=subscriber).delete()
                SubscriberComponent.objects.bulk_create(
                    SubscriberComponent(
                        organization_id=page.organization_id, subscriber=subscriber, component_id=pk
                    )
                    for pk in component_ids
                )
        send = needs_confirmation and subscriber.confirmed_at is None
        if send:
            subscriber_id = str(subscriber.pk)
            transaction.on_commit(lambda: _kick_confirmation(subscriber_id))
    return SubscribeResult(subscriber, created, send)


def _kick_confirmation(subscriber_id: str) -> None:
    from statuspages.tasks import send_subscription_confirmation

    try:
        send_subscription_confirmation.apply_async(args=[subscriber_id], queue="notifications")
    except Exception:
        log.warning("Could not enqueue a subscription confirmation; sending inline")
        send_confirmation(subscriber_id)


def send_confirmation(subscriber_id: str) -> DeliveryResult | None:
    """Send the opt-in link (system path: called by a Celery task)."""
    subscriber = Subscriber.objects.select_related("status_page").filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.confirmed_at is not None:
        return None
    page = subscriber.status_page
    link = page_url(page, f"subscribe/confirm/{confirmation_token(subscriber)}/")
    message = Message(
        incident_id=f"subscription-{subscriber.pk}",
        title=f"Confirm your subscription to {page.name} status",
        summary=(
            f"Someone (hopefully you) asked to be told about incidents on {page.name}.\n"
            f"Confirm here: {link}\nIf it was not you, ignore this message."
        ),
        status="confirm",
        service_name=page.name,
        incident_url=link,
        idempotency_key=f"subscriber-confirm-{subscriber.pk}",
    )
    return deliver(subscriber.channel, subscriber.target, message)


def confirm(page: StatusPage, token: str) -> Subscriber:
    """Confirm the subscription a link names (idempotent)."""
    subscriber = _subscriber_from(token, CONFIRM_SALT, page, CONFIRM_MAX_AGE)
    if subscriber.confirmed_at is None and subscriber.unsubscribed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


def check_unsubscribe_token(page: StatusPage, token: str) -> Subscriber:
    """The subscriber an unsubscribe link names, or InvalidToken."""
    return _subscriber_from(token, UNSUBSCRIBE_SALT, page, None)


def unsubscribe(page: StatusPage, token: str) -> Subscriber:
    """Unsubscribe (idempotent); queued notices to this subscriber are dropped."""
    subscriber = check_unsubscribe_token(page, token)
    with transaction.atomic():
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["unsubscribed_at"])
        SubscriberNotification.objects.filter(
            subscriber=subscriber, status=SubscriberNotification.Status.QUEUED
        ).update(status=SubscriberNotification.Status.SKIPPED, error="unsubscribed")
    return subscriber


# --- Delivery ----------------------------------------------------------------------------


def build_message(notification: SubscriberNotification) -> Message:
    """The message one queued notification says, with the subscriber's unsubscribe link."""
    subscriber = notification.subscriber
    page = notification.status_page
    unsubscribe_link = page_url(page, f"unsubscribe/{unsubscribe_token(subscriber)}/")
    extra = {"event": notification.event, "page": page.slug, "unsubscribe_url": unsubscribe_link}
    if notification.incident_update_id:
        update: StatusPageIncidentUpdate = notification.incident_update
        published = update.status_page_incident
        url = page_url(page, f"incidents/{published.pk}/")
        title, status, body = published.name, update.status, markdown_to_text(update.body)
        extra.update(impact=published.impact, incident_id=str(published.pk))
    else:
        window: MaintenanceWindow = notification.maintenance_window
        url = page_url(page, f"maintenance/{window.pk}/")
        title, status = window.name, window.status
        when = f"{window.scheduled_start:%Y-%m-%d %H:%M %Z} to {window.scheduled_end:%H:%M %Z}"
        body = f"Scheduled maintenance ({notification.event.removeprefix('maintenance_')}): {when}"
        if window.description:
            body += "\n\n" + markdown_to_text(window.description)
        extra.update(maintenance_id=str(window.pk))
    return Message(
        incident_id=str(notification.incident_update_id or notification.maintenance_window_id),
        title=f"{page.name}: {title}",
        summary=f"{body}\n\nUnsubscribe: {unsubscribe_link}",
        status=status,
        service_name=page.name,
        incident_url=url,
        idempotency_key=f"status-page-notification-{notification.pk}",
        extra=extra,
    )


def deliver_one(notification_id: uuid.UUID | str) -> str | None:
    """Deliver one queued notification; returns its new status (None if not ours to send).

    The row stays locked (SKIP LOCKED for other workers) while it is sent, so two workers
    never send it twice; a retryable failure leaves it queued for the next sweep until
    ``MAX_ATTEMPTS``.
    """
    with transaction.atomic():
        notification = (
            SubscriberNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(
                "subscriber",
                "status_page",
                "incident_update__status_page_incident",
                "maintenance_window",
            )
            .filter(pk=notification_id, status=SubscriberNotification.Status.QUEUED)
            .first()
        )
        if notification is None:
            return None
        subscriber = notification.subscriber
        if not subscriber.is_active:
            notification.status = SubscriberNotification.Status.SKIPPED
            notification.error = "subscriber not active"
            notification.save(update_fields=["status", "error"])
            return notification.status
        result = deliver(subscriber.channel, subscriber.target, build_message(notification))
        notification.attempts += 1
        notification.provider_id = (result.provider_id or "")[:200]
        if result.ok:
            notification.status = SubscriberNotification.Status.SENT
            notification.sent_at = timezone.now()
            notification.error = ""
        elif result.status == "skipped":
            notification.status = SubscriberNotification.Status.SKIPPED
            notification.error = result.skipped_reason
        else:
            notification.error = result.error[:2000]
            if not result.retryable or notification.attempts >= MAX_ATTEMPTS:
                notification.status = SubscriberNotification.Status.FAILED
        notification.save(update_fields=["status", "attempts", "provider_id", "error", "sent_at"])
        return notification.status


def deliver_pending(limit: int = 500) -> dict[str, int]:
    """Deliver up to ``limit`` queued notifications, oldest first; counts by outcome."""
    ids = list(
        SubscriberNotification.objects.filter(status=SubscriberNotification.Status.QUEUED)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {}
    for pk in ids:
        outcome = deliver_one(pk)
        if outcome:
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
