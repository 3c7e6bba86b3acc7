"""Django admin for incident response: configuration editable in one place, audit read-only.

Every admin here is organization-scoped and role-gated (see ``accounts/admin.py``):
managers edit services, policies and schedules; everyone with admin access reads;
incidents change only through :mod:`incidents.lifecycle` (the admin actions), never by
editing their status field, so the database triggers keep the timeline and audit trail.
"""

from __future__ import annotations

from typing import Any

import nested_admin
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.forms.models import BaseModelFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

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
    InboxEvent,
    Incident,
    IncidentAssignment,
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


# --- Nested inlines: a policy or a schedule edited on one page -----------------------------


class ScopedNestedFormSet(nested_admin.NestedInlineFormSet):
    """django-nested-admin's formset, with every posted row held to its parent.

    The library looks a posted row up by its id alone (so a row could be dragged to another
    parent) and accepts any id of the model. Here rows never move between parents, so a
    posted id must be one of this parent's rows: a forged or stale id is a form error
    instead of another policy's level quietly moved here, or an INSERT that fails.
    """

    def __init__(self, data=None, files=None, instance=None, *args: Any, **kwargs: Any) -> None:
        if instance is None:
            # The blank children of an "add another" template row. Ids are database
            # defaults (see accounts.admin.give_new_row_an_id): an unsaved row's pk is a
            # marker Django takes for a real id, so say plainly that there is none yet.
            instance = self.fk.remote_field.model(pk=None)
        super().__init__(data, files, instance, *args, **kwargs)

    def get_queryset(self) -> QuerySet:
        return BaseModelFormSet.get_queryset(self)  # this parent's rows (BaseInlineFormSet)

    def add_fields(self, form: forms.BaseForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields[self._pk_field.name].queryset = self.get_queryset()


class ParentRowForm(forms.ModelForm):
    """A row that owns nested rows: a new level whose only input is its targets still saves.

    Without this an untouched new parent row is skipped while its children are saved,
    pointing at a row that was never written.
    """

    def has_changed(self) -> bool:
        nested = getattr(self, "nested_formsets", ())
        return super().has_changed() or any(formset.has_changed() for formset in nested)


class NestedScopedInline(nested_admin.NestedTabularInlineMixin, OrganizationScopedInline):
    """A tabular inline that may sit inside another inline; scoped and role-gated as usual."""

    formset = ScopedNestedFormSet
    is_sortable = False  # positions are typed: dragging would renumber rows after validation

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        organization = getattr(request, "organization", None)
        organization_id = organization.pk if organization is not None else None
        return super().get_queryset(request).filter(organization_id=organization_id)


class NestedScopedStackedInline(nested_admin.NestedStackedInlineMixin, NestedScopedInline):
    """The stacked layout, for rows that hold their own table of children."""

    form = ParentRowForm


def _inside_deleted_row(formset: BaseModelFormSet) -> bool:
    """Whether any row this formset hangs under is being deleted in the same POST.

    Its rows went with the parent (ON DELETE CASCADE); saving them now would re-insert
    them under a parent that no longer exists.
    """
    form = getattr(formset, "parent_form", None)
    while form is not None:
        parent = form.parent_formset
        if parent.can_delete and parent._should_delete_form(form):
            return True
        form = getattr(parent, "parent_form", None)
    return False


class NestedScopedAdmin(nested_admin.NestedModelAdminMixin, OrganizationScopedAdmin):
    """An organization-scoped admin whose inlines may hold inlines (one page, one POST).

    The whole POST is validated before anything is written and saved in the change view's
    transaction, parents before children, so a bad row anywhere saves nothing.
    """

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if _inside_deleted_row(formset):
            # Nothing saved here; the change message (admin history) reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            return
        super().save_formset(request, form, formset, change)


# --- Escalation policies -------------------------------------------------------------------


class EscalationTargetInline(NestedScopedInline):
    model = EscalationTarget
    fields = ["target_type", "user", "schedule", "team"]
    verbose_name = "target"


class EscalationRuleInline(NestedScopedStackedInline):
    """The policy's levels, each with the people, schedules and teams it notifies."""

    model = EscalationRule
    fields = ["position", "delay_minutes"]
    ordering = ["position"]
    verbose_name = "level"
    inlines = [EscalationTargetInline]


class PolicyUseFilter(admin.SimpleListFilter):
    title = "use"
    parameter_name = "used"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("yes", "Routes a service"), ("no", "Used by no service")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        routes = Exists(Service.objects.filter(escalation_policy=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(routes)
        if self.value() == "no":
            return queryset.filter(~routes)
        return None


class PolicySetupFilter(admin.SimpleListFilter):
    """Policies that would page nobody at some step: no levels, or a level with no target."""

    title = "set-up"
    parameter_name = "setup"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("gaps", "Needs attention"), ("complete", "Every level has a target")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        empty_level = EscalationRule.objects.filter(policy=OuterRef("pk")).exclude(
            Exists(EscalationTarget.objects.filter(rule=OuterRef("pk")))
        )
        has_levels = Exists(EscalationRule.objects.filter(policy=OuterRef("pk")))
        gaps = ~has_levels | Exists(empty_level)
        if self.value() == "gaps":
            return queryset.filter(gaps)
        if self.value() == "complete":
            return queryset.exclude(gaps)
        return None


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(NestedScopedAdmin):
    list_display = ["name", "level_count", "repeat_count", "handoff_policy"]
    list_filter = [
        PolicySetupFilter,
        PolicyUseFilter,
        ("handoff_policy", admin.EmptyFieldListFilter),
        "repeat_count",
        ("rules__targets__user", admin.RelatedOnlyFieldListFilter),
        ("rules__targets__schedule", admin.RelatedOnlyFieldListFilter),
        ("rules__targets__team", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "description"]
    list_select_related = ["handoff_policy"]
    inlines = [EscalationRuleInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(levels=Count("rules", distinct=True))

    @admin.display(description="Levels", ordering="levels")
    def level_count(self, policy: EscalationPolicy) -> int:
        return policy.levels

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "handoff_policy" and request.resolver_match.kwargs.get("object_id"):
            field.queryset = field.queryset.exclude(pk=request.resolver_match.kwargs["object_id"])
        return field


# --- Schedules -----------------------------------------------------------------------------


class ScheduleLayerMemberInline(NestedScopedInline):
    model = ScheduleLayerMember
    fields = ["position", "user"]
    ordering = ["position"]
    verbose_name = "participant"


class ScheduleRestrictionInline(NestedScopedInline):
    model = ScheduleRestriction
    verbose_name = "restriction"
    fields = ["kind", "start_day_of_week", "start_time", "duration_minutes"]


class ScheduleLayerInline(NestedScopedStackedInline):
    """Layers with their participants (in rotation order) and restrictions."""

    model = ScheduleLayer
    verbose_name = "layer"
    fields = ["name", "position", "rotation_unit", "rotation_length", "rotation_start", "end_at"]
    ordering = ["position"]
    inlines = [ScheduleLayerMemberInline, ScheduleRestrictionInline]


class ScheduleOverrideInline(NestedScopedInline):
    model = ScheduleOverride
    verbose_name = "override"
    fields = ["user", "start_at", "end_at", "created_by"]
    readonly_fields = ["created_by"]
    ordering = ["-start_at"]


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


class OverrideNowFilter(admin.SimpleListFilter):
    title = "overrides"
    parameter_name = "override"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("now", "Override in effect now"), ("upcoming", "Override coming up")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        now = timezone.now()
        overrides = ScheduleOverride.objects.filter(schedule=OuterRef("pk"))
        if self.value() == "now":
            return queryset.filter(Exists(overrides.filter(start_at__lte=now, end_at__gt=now)))
        if self.value() == "upcoming":
            return queryset.filter(Exists(overrides.filter(start_at__gt=now)))
        return None


class ScheduleSetupFilter(admin.SimpleListFilter):
    """Schedules nobody is paged from in part: no layers, or a layer with no participants."""

    title = "set-up"
    parameter_name = "setup"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("gaps", "Needs attention"), ("complete", "Every layer has participants")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        empty_layer = ScheduleLayer.objects.filter(schedule=OuterRef("pk")).exclude(
            Exists(ScheduleLayerMember.objects.filter(layer=OuterRef("pk")))
        )
        has_layers = Exists(ScheduleLayer.objects.filter(schedule=OuterRef("pk")))
        gaps = ~has_layers | Exists(empty_layer)
        if self.value() == "gaps":
            return queryset.filter(gaps)
        if self.value() == "complete":
            return queryset.exclude(gaps)
        return None


class ScheduleUseFilter(admin.SimpleListFilter):
    title = "use"
    parameter_name = "used"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("yes", "Paged by a policy"), ("no", "In no escalation policy")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        paged = Exists(EscalationTarget.objects.filter(schedule=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(paged)
        if self.value() == "no":
            return queryset.filter(~paged)
        return None


@admin.register(OnCallSchedule)
class OnCallScheduleAdmin(NestedScopedAdmin):
    list_display = ["name", "time_zone", "layer_count", "view_link"]
    list_filter = [
        OverrideNowFilter,
        ScheduleSetupFilter,
        ScheduleUseFilter,
        "time_zone",
        "handoff_notifications",
        ("layers__members", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["name", "description"]
    readonly_fields = ["ical_token"]
    inlines = [ScheduleLayerInline, ScheduleOverrideInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).annotate(layers_count=Count("layers", distinct=True))

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


class ReadOnlyInline(OrganizationScopedInline):
    """Rows written by the incident lifecycle (timeline, assignments): shown, never edited.

    Role-gated like every admin here: Django's model permissions would hide them from
    the managers who use this admin.
    """

    read_only = True
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return list(self.fields)


class IncidentAssignmentInline(ReadOnlyInline):
    """Reassigning goes through the responder app, which records it on the timeline."""

    model = IncidentAssignment
    fields = ["user", "assigned_by", "created_at"]
    verbose_name = "assignee"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user", "assigned_by")


class IncidentUpdateInline(ReadOnlyInline):
    model = IncidentUpdate
    fields = ["created_at", "update_type", "message", "user"]
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Read-only rows; responders act through the actions (lifecycle functions)."""

    list_display = ["title", "status", "severity", "urgency", "service", "created_at"]
    list_filter = [
        "status",
        "severity",
        "urgency",
        "source",
        "service",
        ("assignments__user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "dedup_key"]
    date_hierarchy = "created_at"
    list_select_related = ["service"]
    inlines = [IncidentAssignmentInline, IncidentUpdateInline]
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


@admin.register(InboxEvent)
class InboxEventAdmin(ReadOnlyAdmin):
    """Events accepted but not applied: normally empty a moment after they arrive, so
    what shows here is an event that failed to apply (with why), or a backlog."""

    list_display = ["received_at", "action", "dedup_key", "title", "attempts", "failed_at", "error"]
    list_filter = ["action", ("failed_at", admin.EmptyFieldListFilter)]
    search_fields = ["dedup_key", "title", "error"]
