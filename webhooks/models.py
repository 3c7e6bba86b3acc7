"""Outgoing webhooks: endpoints, the event outbox, deliveries and their attempt log.

Events are written by database triggers in the same transaction as the change they
describe (``webhooks/sql/webhook_events.sql``), so every path that changes an incident, a
monitoring alert or a status-page incident (web, REST, Events API, SQL functions run by the
sweep) produces them, and a committed change never loses its event. One ``WebhookDelivery``
per (event, endpoint) carries the retry state; each HTTP try is a ``WebhookAttempt``.
"""

from __future__ import annotations

import ipaddress
import secrets

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from alert24.tenancy import OrganizationScopedModel
from webhooks.events import EventType

SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and 43 URL-safe characters (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_endpoint_url(url: str, *, allow_private: bool) -> None:
    """HTTPS only; plain HTTP solely to a loopback host where private targets are allowed.

    A webhook body carries incident details, so it must not travel in clear text across a
    network. Private and loopback addresses are refused unless ``allow_private``
    (``WEBHOOK_ALLOW_PRIVATE_TARGETS``: self-hosted receivers, tests); delivery checks the
    resolved addresses again, so DNS cannot smuggle a private target in later.
    """
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValidationError(f"Enter a valid URL ({exc}).", code="invalid") from exc
    if not parsed.host or parsed.scheme not in ("http", "https"):
        raise ValidationError("Enter an https:// URL.", code="invalid")
    if parsed.userinfo:
        raise ValidationError(
            "Do not put credentials in the URL; verify the signature instead.", code="invalid"
        )
    loopback = is_loopback_host(parsed.host)
    if parsed.scheme == "http" and not (loopback and allow_private):
        raise ValidationError(
            "Webhook URLs must use https:// (plain http:// is accepted only for a loopback "
            "receiver when private targets are allowed).",
            code="insecure",
        )
    if not allow_private:
        try:
            literal = ipaddress.ip_address(parsed.host.strip("[]"))
        except ValueError:
            literal = None
        if loopback or (literal is not None and not literal.is_global):
            raise ValidationError(
                "Webhook URLs may not point at private, loopback or link-local addresses.",
                code="private",
            )


class WebhookEndpoint(OrganizationScopedModel):
    """A receiver URL of one organization, the events it wants and the secret it verifies."""

    url = models.CharField("URL", max_length=2048)
    description = models.CharField(max_length=200, blank=True, default="", db_default="")
    event_types = ArrayField(
        models.CharField(max_length=64, choices=EventType.choices),
        help_text="The events this endpoint receives.",
    )
    enabled = models.BooleanField(default=True, db_default=True)
    secret = models.CharField(
        max_length=100,
        default=new_signing_secret,
        editable=False,
        help_text="Signs every delivery (X-Alert24-Signature); keep it on the receiver only.",
    )
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "webhook_endpoints"
        ordering = ["organization", "url"]
        verbose_name = "webhook endpoint"
        constraints = [
            models.CheckConstraint(
                condition=Q(event_types__contained_by=EventType.values) & Q(event_types__len__gt=0),
                name="webhook_endpoints_event_types_valid",
            ),
            models.CheckConstraint(
                condition=Q(url__startswith="https://") | Q(url__startswith="http://"),
                name="webhook_endpoints_url_http",
            ),
        ]
        indexes = [
            # The triggers' "does anyone listen?" probe on every incident change.
            models.Index(
                fields=["organization"], condition=Q(enabled=True), name="webhook_endpoints_on_idx"
            )
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def clean(self) -> None:
        from django.conf import settings

        super().clean()
        errors: dict[str, list[ValidationError]] = {}
        if self.url:
            try:
                validate_endpoint_url(
                    self.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
                )
            except ValidationError as exc:
                errors["url"] = [exc]
        unknown = sorted(set(self.event_types or []) - set(EventType.values))
        if unknown:
            errors["event_types"] = [
                ValidationError(
                    "Unknown event type(s): %(unknown)s. Choose from: %(known)s.",
                    code="invalid_choice",
                    params={"unknown": ", ".join(unknown), "known": ", ".join(EventType.values)},
                )
            ]
        elif not self.event_types:
            errors["event_types"] = [ValidationError("Choose at least one event type.")]
        if errors:
            raise ValidationError(errors)


class WebhookEvent(OrganizationScopedModel):
    """One thing that happened, as sent: ``payload`` is the JSON body, built at the time."""

    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        db_table = "webhook_events"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"], name="webhook_events_created_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.pk}"


class WebhookDelivery(OrganizationScopedModel):
    """One event for one endpoint, with its retry state (one row however often retried)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_default="pending"
    )
    attempts = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Tries since the delivery was (re)queued."
    )
    next_attempt_at = models.DateTimeField(db_default=Now())
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="", db_default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_deliveries_once"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "delivered", "failed"]),
                name="webhook_deliveries_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_deliveries_due_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="webhook_deliveries_claimed_idx",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_deliveries_ep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event.event_type} → {self.endpoint.url}"


class WebhookAttempt(OrganizationScopedModel):
    """One HTTP try of a delivery: what the receiver answered, how fast, or what failed."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(
        blank=True, default="", db_default="", help_text="The first 2 KB of the answer."
    )
    error = models.TextField(blank=True, default="", db_default="")
    succeeded = models.BooleanField(default=False)

    class Meta:
        db_table = "webhook_attempts"
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempts_unique")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number}"
