"""Admin for monitors: checks with their locations inline and recent results, read-only
alerts and rollups.

Results have a composite key (check, time), which Django's admin cannot page through; their
own list (``monitoring/admin_results.py``) reads a view over them, and a check's page shows
its latest results with a link to all of them.

Like every admin here (``accounts/admin.py``), checks, alerts and rollups are scoped to the
active organization and gated by role: managers edit checks, everyone with admin access
reads, and pause / resume go through the responder app's own action (same rule, same
activity log). Locations are global: only superusers edit them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.admin import OrganizationScopedAdmin, ReadOnlyAdmin, RoleGatedMixin, allows
from accounts.roles import Permission
from monitoring import admin_results  # noqa: F401  (registers the check results list)
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


@admin.register(MonitoringCheck)
class MonitoringCheckAdmin(OrganizationScopedAdmin):
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
        from monitoring.engine import run_now

        for check in queryset[:20]:
            outcome = run_now(check)
            state = outcome.state if outcome else "paused"
            self.message_user(request, f"{check}: {state}", messages.INFO)


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
