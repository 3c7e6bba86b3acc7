"""Admin for outgoing webhooks: endpoints (admins only: the secret signs for the whole
organization) and the read-only delivery log, with "send test event" and "redeliver"."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import OrganizationScopedAdmin, OrganizationScopedInline, ReadOnlyAdmin
from accounts.roles import Permission
from webhooks import delivery as webhook_delivery
from webhooks.events import EventType
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    new_signing_secret,
)


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this endpoint receives.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "enabled"]
        widgets = {"url": forms.URLInput(attrs={"size": 80, "placeholder": "https://"})}


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    """Endpoints of the active organization; the signing secret is readable here by admins."""

    form = WebhookEndpointForm
    view_permission = Permission.MANAGE_MEMBERS
    edit_permission = Permission.MANAGE_MEMBERS
    list_display = ["url", "description", "enabled", "events", "deliveries_link", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "created_by", "created_at"]
    actions = ["send_test_event", "roll_secret"]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = ["url", "description", "event_types", "enabled"]
        return fields + (self.readonly_fields if obj is not None else [])

    @admin.display(description="events")
    def events(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types)

    @admin.display(description="delivery log")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:webhooks_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">deliveries</a>', url, obj.pk)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                f"Signing secret: {obj.secret} — configure it on the receiver. Admins can "
                "read it again on this endpoint's page.",
            )

    @admin.action(description="Send a test event (ping)")
    def send_test_event(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for endpoint in queryset:
            webhook_delivery.send_test_event(endpoint)
        self.message_user(
            request,
            f"Test event queued for {queryset.count()} endpoint(s); see the delivery log.",
        )

    @admin.action(description="Roll the signing secret")
    def roll_secret(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for endpoint in queryset:
            endpoint.secret = new_signing_secret()
            endpoint.save(update_fields=["secret", "updated_at"])
        self.message_user(
            request, "New secrets are in effect now; update the receivers.", messages.WARNING
        )


class WebhookAttemptInline(OrganizationScopedInline):
    model = WebhookAttempt
    view_permission = Permission.MANAGE_MEMBERS
    read_only = True
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "succeeded",
        "error",
        "response_body",
    ]
    readonly_fields = fields
    ordering = ["number"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: what was sent where, each try's answer; redeliver from here."""

    view_permission = Permission.MANAGE_MEMBERS
    inlines = [WebhookAttemptInline]
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "event__event_type"]
    search_fields = ["endpoint__url", "event__id"]
    list_select_related = ["event", "endpoint"]
    date_hierarchy = "created_at"
    actions = ["redeliver"]
    fields = [
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_status_code",
        "last_error",
        "created_at",
        "payload",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self.fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup == "endpoint__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="event", ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.event_type

    @admin.display(description="event id (X-Alert24-Event-Id)")
    def event_id(self, obj: WebhookDelivery) -> str:
        return str(obj.event_id)

    @admin.display(description="payload")
    def payload(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.event.payload, indent=2))

    @admin.action(description="Redeliver (same event id and body)")
    def redeliver(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = webhook_delivery.redeliver(queryset)
        self.message_user(request, f"{count} delivery(ies) queued again.")
