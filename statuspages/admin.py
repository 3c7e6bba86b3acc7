"""Admin for status pages: one place to edit a page, its groups and components.

Organization scoping comes from row-level security (the admin runs under the request's
organization like every view) and, for new rows, from :class:`OrganizationAdminMixin`,
which fills ``organization`` from the active organization instead of asking for it.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

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


class OrganizationAdminMixin:
    """Hide ``organization`` and set it from the active organization (and the parent)."""

    exclude = ["organization"]

    def save_model(self, request, obj, form, change) -> None:
        if not obj.organization_id:
            obj.organization_id = _organization_id(request)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change) -> None:
        for instance in formset.save(commit=False):
            if not instance.organization_id:
                instance.organization_id = form.instance.organization_id
            instance.save()
        for instance in formset.deleted_objects:
            instance.delete()
        formset.save_m2m()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by triggers and jobs: for looking at, not editing."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ScopedInline(admin.TabularInline):
    exclude = ["organization"]
    extra = 0


class ComponentGroupInline(ScopedInline):
    model = ComponentGroup
    fields = ["name", "position", "description"]


class ComponentInline(ScopedInline):
    model = Component
    fields = ["name", "group", "status", "position", "showcase", "only_show_if_degraded"]
    show_change_link = True


@admin.register(StatusPage)
class StatusPageAdmin(OrganizationAdminMixin, admin.ModelAdmin):
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
class ComponentAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status_page", "group", "status", "position", "monitoring_check_id"]
    list_filter = ["status", "status_page"]
    search_fields = ["name", "description"]
    readonly_fields = ["monitoring_status", "created_at", "updated_at"]
    inlines = [ComponentServiceInline]


@admin.register(ComponentGroup)
class ComponentGroupAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status_page", "position"]
    list_filter = ["status_page"]
    search_fields = ["name"]


class IncidentComponentInline(ScopedInline):
    model = StatusPageIncidentComponent


class IncidentUpdateInline(admin.StackedInline):
    model = StatusPageIncidentUpdate
    exclude = ["organization", "affected_components"]
    extra = 0
    readonly_fields = ["created_at"]


@admin.register(StatusPageIncident)
class StatusPageIncidentAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status_page", "status", "impact", "started_at", "resolved_at"]
    list_filter = ["status", "impact", "status_page"]
    search_fields = ["name"]
    date_hierarchy = "started_at"
    raw_id_fields = ["incident"]
    readonly_fields = ["monitoring_at", "resolved_at", "created_at", "updated_at"]
    inlines = [IncidentComponentInline, IncidentUpdateInline]


@admin.register(StatusPageIncidentUpdate)
class StatusPageIncidentUpdateAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["status_page_incident", "status", "display_at", "deliver_notifications"]
    list_filter = ["status"]
    search_fields = ["body", "status_page_incident__name"]


class MaintenanceComponentInline(ScopedInline):
    model = MaintenanceComponent


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status_page", "status", "scheduled_start", "scheduled_end"]
    list_filter = ["status", "status_page", "auto_start", "auto_complete"]
    search_fields = ["name", "description"]
    date_hierarchy = "scheduled_start"
    readonly_fields = ["started_at", "completed_at", "created_at", "updated_at"]
    inlines = [MaintenanceComponentInline]


class SubscriberComponentInline(ScopedInline):
    model = SubscriberComponent


@admin.register(Subscriber)
class SubscriberAdmin(OrganizationAdminMixin, admin.ModelAdmin):
    list_display = ["target", "channel", "status_page", "confirmed_at", "unsubscribed_at"]
    list_filter = ["channel", "status_page"]
    search_fields = ["target"]
    inlines = [SubscriberComponentInline]


@admin.register(SubscriberNotification)
class SubscriberNotificationAdmin(ReadOnlyAdmin):
    list_display = ["subscriber", "event", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "event", "status_page"]
    search_fields = ["subscriber__target", "error"]


@admin.register(ComponentStatusHistory)
class ComponentStatusHistoryAdmin(ReadOnlyAdmin):
    list_display = ["component", "old_status", "new_status", "reason", "changed_at"]
    list_filter = ["new_status", "status_page"]
    search_fields = ["component__name", "reason"]
    date_hierarchy = "changed_at"


@admin.register(UptimeCalculation)
class UptimeCalculationAdmin(ReadOnlyAdmin):
    list_display = ["component", "date", "uptime_percentage", "incident_count", "calculated_at"]
    list_filter = ["status_page"]
    search_fields = ["component__name"]
    date_hierarchy = "date"


@admin.register(StatusPageAnalytics)
class StatusPageAnalyticsAdmin(ReadOnlyAdmin):
    list_display = ["status_page", "date", "page_views"]
    list_filter = ["status_page"]
    date_hierarchy = "date"
