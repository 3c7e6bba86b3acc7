"""Django admin for incident response: configuration editable in one place, audit read-only.

Every admin here is organization-scoped and role-gated (see ``accounts/admin.py``):
managers edit services, policies and schedules; everyone with admin access reads;
incidents change only through :mod:`incidents.lifecycle` (the admin actions), never by
editing their status field, so the database triggers keep the timeline and audit trail.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    ReadOnlyAdmin,
    allows,
)
from accounts.roles import Permission
from incidents import lifecycle, live
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    Incident,
    IncidentEscalation,
    IncidentNotification,
    IncidentUpdate,
    NotificationHistory,
    NotificationRule,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
    ScheduleRestriction,
    Service,
    ServiceIntegration,
)
from incidents.oncall import validate_schedule

# --- Services ------------------------------------------------------------------------------


class ServiceIntegrationInline(OrganizationScopedInline):
    model = ServiceIntegration
    fields = ["name", "kind", "integration_key", "created_at"]
    readonly_fields = ["integration_key", "created_at"]


@admin.register(Service)
class ServiceAdmin(OrganizationScopedAdmin):
    list_display = ["name", "status", "escalation_policy", "urgency_rule", "created_at"]
    list_filter = ["status", "urgency_rule", "escalation_policy"]
    search_fields = ["name", "description"]
    list_select_related = ["escalation_policy"]
    inlines = [ServiceIntegrationInline]


# --- Escalation policies -------------------------------------------------------------------


class EscalationTargetInline(OrganizationScopedInline):
    model = EscalationTarget
    fields = ["target_type", "user", "schedule", "team"]


class EscalationRuleInline(OrganizationScopedInline):
    """Levels on the policy page; each level's targets are one click away (its change link)."""

    model = EscalationRule
    fields = ["position", "delay_minutes", "targets_summary"]
    readonly_fields = ["targets_summary"]
    show_change_link = True
    ordering = ["position"]

    @admin.display(description="Targets")
    def targets_summary(self, rule: EscalationRule) -> str:
        if rule.pk is None:
            return "Save, then open the level to add its targets."
        targets = list(rule.targets.select_related("user", "schedule", "team"))
        if not targets:
            return format_html('<strong style="color:#a15c00">{}</strong>', "No targets yet")
        return format_html_join(
            ", ", "{} ({})", ((str(t), t.get_target_type_display()) for t in targets)
        )


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(OrganizationScopedAdmin):
    list_display = ["name", "level_count", "repeat_count", "handoff_policy"]
    search_fields = ["name", "description"]
    list_select_related = ["handoff_policy"]
    inlines = [EscalationRuleInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(levels=Count("rules"))

    @admin.display(description="Levels", ordering="levels")
    def level_count(self, policy: EscalationPolicy) -> int:
        return policy.levels

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "handoff_policy" and request.resolver_match.kwargs.get("object_id"):
            field.queryset = field.queryset.exclude(pk=request.resolver_match.kwargs["object_id"])
        return field


@admin.register(EscalationRule)
class EscalationRuleAdmin(OrganizationScopedAdmin):
    """One level with its targets: reached from the policy page's level links."""

    list_display = ["policy", "position", "delay_minutes"]
    list_filter = ["policy"]
    search_fields = ["policy__name"]
    list_select_related = ["policy"]
    inlines = [EscalationTargetInline]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # edited from its policy; hidden from the index to keep it short


# --- Schedules -----------------------------------------------------------------------------


class ScheduleLayerInline(OrganizationScopedInline):
    model = ScheduleLayer
    fields = ["name", "position", "rotation_unit", "rotation_length", "rotation_start", "end_at"]
    show_change_link = True


class ScheduleOverrideInline(OrganizationScopedInline):
    model = ScheduleOverride
    fields = ["user", "start_at", "end_at", "created_by"]
    readonly_fields = ["created_by"]
    ordering = ["-start_at"]


class ScheduleLayerMemberInline(OrganizationScopedInline):
    model = ScheduleLayerMember
    fields = ["position", "user"]


class ScheduleRestrictionInline(OrganizationScopedInline):
    model = ScheduleRestriction
    fields = ["kind", "start_day_of_week", "start_time", "duration_minutes"]


def _report_schedule_problems(request: HttpRequest, schedule: OnCallSchedule) -> None:
    """Run ``validate_schedule`` after every save and show what to fix.

    Saved anyway: a layer being set up (no participants yet) is allowed by design, but
    nobody is paged from it, so the admin must see it at once.
    """
    try:
        validate_schedule(schedule)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, f"{schedule}: {message}")


@admin.register(OnCallSchedule)
class OnCallScheduleAdmin(OrganizationScopedAdmin):
    list_display = ["name", "time_zone", "layer_count", "view_link"]
    search_fields = ["name", "description"]
    readonly_fields = ["ical_token"]
    inlines = [ScheduleLayerInline, ScheduleOverrideInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(layers_count=Count("layers"))

    @admin.display(description="Layers", ordering="layers_count")
    def layer_count(self, schedule: OnCallSchedule) -> int:
        return schedule.layers_count

    @admin.display(description="Calendar")
    def view_link(self, schedule: OnCallSchedule) -> str:
        return format_html(
            '<a href="{}">Next two weeks</a>', reverse("schedule-detail", args=[schedule.pk])
        )

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is ScheduleOverride:
            for override in formset.save(commit=False):
                if override.created_by_id is None:
                    override.created_by = request.user
        super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        _report_schedule_problems(request, form.instance)


@admin.register(ScheduleLayer)
class ScheduleLayerAdmin(OrganizationScopedAdmin):
    """A layer with its participants (in rotation order) and restrictions."""

    list_display = ["schedule", "name", "position", "rotation_unit", "rotation_length"]
    list_filter = ["schedule", "rotation_unit"]
    search_fields = ["name", "schedule__name"]
    list_select_related = ["schedule"]
    inlines = [ScheduleLayerMemberInline, ScheduleRestrictionInline]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False  # edited from its schedule

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        _report_schedule_problems(request, form.instance.schedule)


@admin.register(NotificationRule)
class NotificationRuleAdmin(OrganizationScopedAdmin):
    list_display = ["user", "urgency", "start_delay_minutes", "contact_method"]
    list_filter = ["urgency"]
    search_fields = ["user__email"]
    list_select_related = ["user", "contact_method"]
    autocomplete_fields = ["user"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "contact_method":
            from accounts.models import UserContactMethod

            kwargs["queryset"] = UserContactMethod.objects.filter(
                user__memberships__organization_id=request.organization.pk
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- Incidents and their audit trail --------------------------------------------------------


class IncidentUpdateInline(admin.TabularInline):
    model = IncidentUpdate
    fields = ["created_at", "update_type", "message", "user"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Read-only rows; responders act through the actions (lifecycle functions)."""

    list_display = ["title", "status", "severity", "urgency", "service", "created_at"]
    list_filter = ["status", "severity", "urgency", "source", "service"]
    search_fields = ["title", "dedup_key"]
    date_hierarchy = "created_at"
    list_select_related = ["service"]
    inlines = [IncidentUpdateInline]
    actions = ["acknowledge_selected", "resolve_selected"]
    # The status-change trigger writes these to user_activity_log already.
    actions_logged_elsewhere = ("acknowledge_selected", "resolve_selected")

    def has_respond_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or allows(request, Permission.RESPOND)

    def _apply(self, request: HttpRequest, queryset, change, done_word: str) -> None:
        changed = closed = 0
        for incident in queryset:
            try:
                if change(incident, request.user, "from admin"):
                    changed += 1
                    live.incident_changed(incident)
            except lifecycle.IncidentClosed:
                closed += 1
        note = f" ({closed} already resolved)" if closed else ""
        self.message_user(request, f"{changed} incident(s) {done_word}{note}.", messages.SUCCESS)

    @admin.action(description="Acknowledge selected incidents", permissions=["respond"])
    def acknowledge_selected(self, request: HttpRequest, queryset) -> None:
        self._apply(request, queryset, lifecycle.acknowledge, "acknowledged")

    @admin.action(description="Resolve selected incidents", permissions=["respond"])
    def resolve_selected(self, request: HttpRequest, queryset) -> None:
        self._apply(request, queryset, lifecycle.resolve, "resolved")


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "update_type", "message", "user"]
    list_filter = ["update_type"]
    search_fields = ["message", "incident__title"]
    date_hierarchy = "created_at"
    list_select_related = ["incident", "user"]


@admin.register(NotificationHistory)
class NotificationHistoryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "user", "channel", "target", "status", "attempts"]
    list_filter = ["status", "channel"]
    search_fields = ["target", "incident__title", "user__email", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["incident", "user"]


@admin.register(IncidentNotification)
class IncidentNotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "user", "reason", "escalation_level", "status"]
    list_filter = ["status", "reason"]
    search_fields = ["incident__title", "user__email"]
    list_select_related = ["incident", "user"]


@admin.register(IncidentEscalation)
class IncidentEscalationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "status", "current_level", "repetition", "next_escalation_at"]
    list_filter = ["status"]
    search_fields = ["incident__title"]
    list_select_related = ["incident"]
