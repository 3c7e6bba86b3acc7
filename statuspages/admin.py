"""Admin for status pages: one place to edit a page, its groups and components.

Like every admin here (``accounts/admin.py``), each list is filtered to the active
organization (row-level security filters too), ``organization`` is set from it rather than
asked for, foreign-key choices are the organization's own rows, and access follows the
member's role: managers edit pages, components, incidents, maintenance and subscribers;
everyone with admin access reads. Rows written by triggers and jobs (status history,
uptime, notifications, analytics) are read-only: nobody adds, edits or deletes them here.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from accounts.admin import OrganizationScopedAdmin, OrganizationScopedInline, ReadOnlyAdmin
from monitoring.models import MonitoringCheck
from statuspages.models import (
    Component,
    ComponentGroup,
    ComponentService,
    ComponentStatusHistory,
    MaintenanceComponent,
    MaintenanceWindow,
    StatusPage,
    StatusPageAnalytics,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
    Subscriber,
    SubscriberComponent,
    SubscriberNotification,
    UptimeCalculation,
)


def _organization_id(request: HttpRequest):
    organization = getattr(request, "organization", None)
    return organization.pk if organization is not None else None


class PageFilter(admin.RelatedFieldListFilter):
    """The status-page filter lists the active organization's pages only (not just by RLS)."""

    def field_choices(self, field, request: HttpRequest, model_admin) -> list[tuple[Any, str]]:
        pages = StatusPage.objects.filter(organization_id=_organization_id(request))
        return [(page.pk, str(page)) for page in pages.order_by("name")]


class ScopedInline(OrganizationScopedInline):
    """A page's or a page object's children: components and groups of that page only."""

    def get_formset(self, request: HttpRequest, obj=None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        page_id = obj.pk if isinstance(obj, StatusPage) else getattr(obj, "status_page_id", None)
        if page_id is not None:
            for name in ("component", "group"):
                field = formset.form.base_fields.get(name)
                if field is not None:
                    field.queryset = field.queryset.filter(status_page_id=page_id)
        return formset


def monitoring_check_field(request: HttpRequest) -> forms.TypedChoiceField:
    """``monitoring_check_id`` is a bare UUID column: offer the organization's checks only."""
    checks = MonitoringCheck.objects.filter(organization_id=_organization_id(request))
    return forms.TypedChoiceField(
        choices=[
            ("", "---------"),
            *((str(pk), name) for pk, name in checks.values_list("pk", "name")),
        ],
        coerce=uuid.UUID,
        empty_value=None,
        required=False,
        label="Monitoring check",
        help_text="A check whose confirmed failures move the component.",
    )


class ComponentGroupInline(ScopedInline):
    model = ComponentGroup
    fields = ["name", "position", "description"]


class ComponentInline(ScopedInline):
    model = Component
    fields = ["name", "group", "status", "position", "showcase", "only_show_if_degraded"]
    show_change_link = True


@admin.register(StatusPage)
class StatusPageAdmin(OrganizationScopedAdmin):
    list_display = ["name", "slug", "custom_domain", "is_public", "content_version", "updated_at"]
    list_filter = ["is_public"]
    search_fields = ["name", "slug", "custom_domain"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["content_version", "created_at", "updated_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [ComponentGroupInline, ComponentInline]


class ComponentServiceInline(ScopedInline):
    model = ComponentService


@admin.register(Component)
class ComponentAdmin(OrganizationScopedAdmin):
    list_display = ["name", "status_page", "group", "status", "position", "monitoring_check_id"]
    list_filter = ["status", ("status_page", PageFilter)]
    search_fields = ["name", "description"]
    list_select_related = ["status_page", "group"]
    readonly_fields = ["monitoring_status", "created_at", "updated_at"]
    inlines = [ComponentServiceInline]

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs: Any):
        if db_field.name == "monitoring_check_id":
            return monitoring_check_field(request)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(ComponentGroup)
class ComponentGroupAdmin(OrganizationScopedAdmin):
    list_display = ["name", "status_page", "position"]
    list_filter = [("status_page", PageFilter)]
    list_select_related = ["status_page"]
    search_fields = ["name"]


class IncidentComponentInline(ScopedInline):
    model = StatusPageIncidentComponent


class IncidentUpdateInline(OrganizationScopedInline):
    model = StatusPageIncidentUpdate
    template = "admin/edit_inline/stacked.html"
    exclude = ["organization", "affected_components"]
    readonly_fields = ["created_by", "created_at"]


@admin.register(StatusPageIncident)
class StatusPageIncidentAdmin(OrganizationScopedAdmin):
    list_display = ["name", "status_page", "status", "impact", "started_at", "resolved_at"]
    list_filter = ["status", "impact", ("status_page", PageFilter)]
    search_fields = ["name"]
    date_hierarchy = "started_at"
    list_select_related = ["status_page"]
    raw_id_fields = ["incident"]
    readonly_fields = ["monitoring_at", "resolved_at", "created_at", "updated_at"]
    inlines = [IncidentComponentInline, IncidentUpdateInline]

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is StatusPageIncidentUpdate:
            for update in formset.save(commit=False):
                if update.created_by_id is None:
                    update.created_by = request.user
        super().save_formset(request, form, formset, change)


@admin.register(StatusPageIncidentUpdate)
class StatusPageIncidentUpdateAdmin(OrganizationScopedAdmin):
    list_display = ["status_page_incident", "status", "display_at", "deliver_notifications"]
    list_filter = ["status", "deliver_notifications"]
    search_fields = ["body", "status_page_incident__name"]
    date_hierarchy = "display_at"
    list_select_related = ["status_page_incident"]
    exclude = ["organization", "affected_components"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class MaintenanceComponentInline(ScopedInline):
    model = MaintenanceComponent


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(OrganizationScopedAdmin):
    list_display = ["name", "status_page", "status", "scheduled_start", "scheduled_end"]
    list_filter = ["status", ("status_page", PageFilter), "auto_start", "auto_complete"]
    search_fields = ["name", "description"]
    date_hierarchy = "scheduled_start"
    list_select_related = ["status_page"]
    readonly_fields = ["started_at", "completed_at", "created_at", "updated_at"]
    inlines = [MaintenanceComponentInline]


class SubscriberComponentInline(ScopedInline):
    model = SubscriberComponent


@admin.register(Subscriber)
class SubscriberAdmin(OrganizationScopedAdmin):
    list_display = ["target", "channel", "status_page", "confirmed_at", "unsubscribed_at"]
    list_filter = [
        "channel",
        ("status_page", PageFilter),
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("unsubscribed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["target"]
    date_hierarchy = "created_at"
    list_select_related = ["status_page"]
    inlines = [SubscriberComponentInline]


@admin.register(SubscriberNotification)
class SubscriberNotificationAdmin(ReadOnlyAdmin):
    list_display = ["subscriber", "event", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "event", ("status_page", PageFilter)]
    search_fields = ["subscriber__target", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["subscriber"]


@admin.register(ComponentStatusHistory)
class ComponentStatusHistoryAdmin(ReadOnlyAdmin):
    list_display = ["component", "old_status", "new_status", "reason", "changed_at"]
    list_filter = ["new_status", ("status_page", PageFilter)]
    search_fields = ["component__name", "reason"]
    date_hierarchy = "changed_at"
    list_select_related = ["component"]


@admin.register(UptimeCalculation)
class UptimeCalculationAdmin(ReadOnlyAdmin):
    list_display = ["component", "date", "uptime_percentage", "incident_count", "calculated_at"]
    list_filter = [("status_page", PageFilter)]
    search_fields = ["component__name"]
    date_hierarchy = "date"
    list_select_related = ["component"]


@admin.register(StatusPageAnalytics)
class StatusPageAnalyticsAdmin(ReadOnlyAdmin):
    list_display = ["status_page", "date", "page_views"]
    list_filter = [("status_page", PageFilter)]
    date_hierarchy = "date"
    list_select_related = ["status_page"]
