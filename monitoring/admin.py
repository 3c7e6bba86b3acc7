"""Admin for monitors: checks with their locations inline and recent results, read-only
alerts and rollups.

Results have a composite key (check, time), which Django's admin cannot page through; their
own list (``monitoring/admin_results.py``) reads a view over them, and a check's page shows
its latest results with a link to all of them.

Like every admin here (``accounts/admin.py``), checks, alerts and rollups are scoped to the
active organization and gated by role: managers edit checks, everyone with admin access
reads, and pause / resume go through the responder app's own action (same rule, same
activity log). Locations are global: only superusers edit them.

A check's secrets are write-only here as in the API (``monitoring.checks.secrets``): the
form shows them masked and saving it untouched keeps them, and "run now" takes the same
on-demand limit as the API and the responder app (``monitoring.on_demand``).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin import OrganizationScopedAdmin, ReadOnlyAdmin, RoleGatedMixin, allows
from accounts.roles import Permission
from monitoring import (
    admin_results,  # noqa: F401  (registers the check results list)
    on_demand,
)
from monitoring.checks import secrets
from monitoring.models import (
    CheckResult,
    CheckSchedule,
    MonitoringAlert,
    MonitoringCheck,
    MonitoringLocation,
    MonitoringStatistic,
)

RECENT_RESULTS = 20


@admin.register(MonitoringLocation)
class MonitoringLocationAdmin(RoleGatedMixin, admin.ModelAdmin):
    """Regions are shared by every organization: members read them, superusers edit."""

    list_display = ["code", "name", "region", "queue", "is_active"]
    list_filter = ["is_active"]

    def _may_edit(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


class CheckScheduleInline(RoleGatedMixin, admin.TabularInline):
    model = CheckSchedule
    fields = ["location", "next_run_at", "last_dispatched_at"]
    readonly_fields = ["next_run_at", "last_dispatched_at"]
    extra = 0
    verbose_name = "location"
    verbose_name_plural = "locations (one schedule each)"


class CheckForm(forms.ModelForm):
    """The check form with its secrets masked; the mask saved back keeps the stored value.

    The form is written back whole, so a write-only setting (``basic_auth_password``) is
    shown as the mask rather than left out, which would delete it on save.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "config" in self.fields and not self.instance._state.adding:
            self.initial["config"] = secrets.masked_config(self.instance.config, placeholders=True)

    def clean_config(self) -> Any:
        config = self.cleaned_data.get("config")
        if not isinstance(config, dict):
            return config
        stored = None if self.instance._state.adding else self.instance.config
        try:
            return secrets.restore_secrets(config, stored)
        except secrets.MaskWithoutSecret as error:
            raise forms.ValidationError(f"{error.setting}: {error}") from None


@admin.register(MonitoringCheck)
class MonitoringCheckAdmin(OrganizationScopedAdmin):
    form = CheckForm
    list_display = [
        "name",
        "check_type",
        "state",
        "last_checked_at",
        "last_response_time_ms",
        "interval_seconds",
        "service",
        "is_paused",
    ]
    list_filter = ["check_type", "state", "is_paused", "locations"]
    search_fields = ["name"]
    inlines = [CheckScheduleInline]
    actions = ["pause", "resume", "run_now"]
    # Pause and resume go through the responder app's functions, which log who did it.
    actions_logged_elsewhere = ("pause", "resume")
    readonly_fields = [
        "state",
        "state_changed_at",
        "consecutive_failures",
        "consecutive_successes",
        "last_checked_at",
        "last_status",
        "last_response_time_ms",
        "last_reason",
        "heartbeat_url",
        "last_ping_at",
        "last_fail_at",
        "recent_results",
        "all_results",
        "masked_config",
    ]
    fieldsets = [
        (None, {"fields": ["name", "check_type", "config", "service"]}),
        (
            "Schedule and alerting",
            {
                "fields": [
                    "interval_seconds",
                    "timeout_seconds",
                    "failure_threshold",
                    "recovery_threshold",
                    "require_second_location",
                    "severity",
                    "is_paused",
                ]
            },
        ),
        (
            "Current state",
            {
                "fields": [
                    "state",
                    "state_changed_at",
                    "consecutive_failures",
                    "consecutive_successes",
                    "last_checked_at",
                    "last_status",
                    "last_response_time_ms",
                    "last_reason",
                ]
            },
        ),
        ("Heartbeat", {"fields": ["heartbeat_url", "last_ping_at", "last_fail_at"]}),
        ("Recent results", {"fields": ["recent_results", "all_results"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj=None) -> list:
        """Readers who may not edit see the config read-only, so through the mask too."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [
                "masked_config" if field == "config" else field for field in options["fields"]
            ]})
            for name, options in fieldsets
        ]  # fmt: skip

    @admin.display(description="Config")
    def masked_config(self, obj: MonitoringCheck) -> str:
        return json.dumps(secrets.masked_config(obj.config, placeholders=True), indent=2)

    @admin.display(description="Heartbeat URL")
    def heartbeat_url(self, obj: MonitoringCheck) -> str:
        from django.conf import settings

        path = obj.heartbeat_path
        return f"{settings.SITE_URL}{path}" if path else "—"

    @admin.display(description="All results")
    def all_results(self, obj: MonitoringCheck) -> str:
        """Link to the results list filtered to this check (every kept result, filterable)."""
        if obj is None or obj._state.adding:
            return "—"
        url = reverse("admin:monitoring_checkresultlog_changelist")
        return format_html('<a href="{}?check={}">All results of this check</a>', url, obj.pk)

    @admin.display(description=f"Last {RECENT_RESULTS} results")
    def recent_results(self, obj: MonitoringCheck) -> str:
        if obj is None or obj._state.adding:
            return "—"
        results = (
            CheckResult.objects.filter(monitor=obj)
            .select_related("location")
            .order_by("-checked_at")[:RECENT_RESULTS]
        )
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{r.checked_at:%Y-%m-%d %H:%M:%S}",
                    r.location or "push",
                    r.get_status_display(),
                    "—" if r.response_time_ms is None else f"{r.response_time_ms} ms",
                    r.reason or "",
                )
                for r in results
            ),
        )
        if not rows:
            return "No results yet."
        return format_html(
            "<table><thead><tr><th>checked at (UTC)</th><th>location</th><th>status</th>"
            "<th>response</th><th>reason</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def has_respond_permission(self, request: HttpRequest) -> bool:
        """Pause, resume and run now follow the responder app's rule (responders and up)."""
        return request.user.is_superuser or allows(request, Permission.RESPOND)

    def _set_paused(self, request: HttpRequest, queryset: QuerySet, action: str) -> int:
        """Through the responder app's own pause/resume, so the activity log records who."""
        from monitoring.pages import ACTIONS

        changed = 0
        for check in queryset.filter(is_paused=action == "resume"):
            ACTIONS[action](request, check)
            changed += 1
        return changed

    @admin.action(description="Pause selected checks", permissions=["respond"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self._set_paused(request, queryset, "pause")
        self.message_user(request, f"Paused {count} check(s).", messages.SUCCESS)

    @admin.action(description="Resume selected checks", permissions=["respond"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = self._set_paused(request, queryset, "resume")
        self.message_user(request, f"Resumed {count} check(s).", messages.SUCCESS)

    @admin.action(description="Run selected checks now", permissions=["respond"])
    def run_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Each check through the on-demand limit the API and the responder app take.

        The limit is what keeps "run now" from probing a target at will, so the admin gets
        no door around it: refused checks are skipped and the message says why and when
        to retry; without Redis nothing runs.
        """
        from monitoring.engine import run_now

        ran: list[str] = []
        skipped: dict[str, list[str]] = {}
        retry_after: dict[str, int] = {}
        unreachable: list[str] = []
        for check in queryset.order_by("name"):
            if check.is_paused:
                skipped.setdefault("The check is paused; resume it first.", []).append(check.name)
                continue
            if unreachable:  # one timeout is enough to know
                unreachable.append(check.name)
                continue
            try:
                on_demand.claim_run_now(check)
            except on_demand.RunNowUnavailable:
                unreachable.append(check.name)
                continue
            except on_demand.RunNowTooSoon as refused:
                reason = str(refused)
                skipped.setdefault(reason, []).append(check.name)
                retry_after[reason] = max(retry_after.get(reason, 0), refused.retry_after)
                continue
            outcome = run_now(check)
            ran.append(f"{check.name} ({outcome.state if outcome else 'not run'})")
        if ran:
            self.message_user(
                request, f"Ran {len(ran)} check(s): {', '.join(ran)}.", messages.SUCCESS
            )
        for reason, names in skipped.items():
            retry = f" Retry in {retry_after[reason]} s." if reason in retry_after else ""
            self.message_user(
                request,
                f"Skipped {len(names)} check(s): {', '.join(names)}. {reason}{retry}",
                messages.WARNING,
            )
        if unreachable:
            self.message_user(
                request,
                f"Skipped {len(unreachable)} check(s): {', '.join(unreachable)}. The run-now "
                "limit cannot be checked (Redis is unreachable), so nothing more was run; "
                "the checks keep running on their schedules.",
                messages.ERROR,
            )


@admin.register(MonitoringAlert)
class MonitoringAlertAdmin(ReadOnlyAdmin):
    list_display = ["monitor", "status", "opened_at", "resolved_at", "incident", "failure_reason"]
    list_filter = ["status"]
    search_fields = ["monitor__name", "failure_reason", "incident__title"]
    date_hierarchy = "opened_at"
    list_select_related = ["monitor", "incident"]


@admin.register(MonitoringStatistic)
class MonitoringStatisticAdmin(ReadOnlyAdmin):
    list_display = [
        "monitor",
        "period",
        "bucket_start",
        "total_checks",
        "up_checks",
        "degraded_checks",
        "down_checks",
        "avg_response_ms",
        "p95_response_ms",
    ]
    list_filter = ["period"]
    search_fields = ["monitor__name"]
    date_hierarchy = "bucket_start"
    list_select_related = ["monitor"]
