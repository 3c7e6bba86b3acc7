"""The responder app's monitor pages: the list, one monitor, pause / resume / run now.

Built to stay fast with 10,000 monitors: the list is paginated and everything it shows
beyond the check row comes from the rollups (``monitoring_statistics``) in two queries for
the whole page — the hourly buckets of the last 24 h (sparkline and 24 h uptime) and a sum
of the daily buckets of the last 30 days — never from raw ``check_results``. The detail
page reads raw results only for its short "recent results" table.

Of ``CheckResult`` these pages use the public fields only (``monitor``, ``checked_at``,
``status``, ``response_time_ms``, ``location``, ``reason``), so the table can be
partitioned or renamed underneath. Writes go through the same rules as the admin's
actions (the pause trigger sets the state) and land in the activity log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Now
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.activity import record_activity
from accounts.roles import Permission
from incidents.views import member_required
from monitoring import charts
from monitoring.models import (
    CheckResult,
    CheckState,
    CheckType,
    MonitoringAlert,
    MonitoringCheck,
    MonitoringStatistic,
    ResultStatus,
)
from monitoring.statistics import daily_uptime
from statuspages.pagedata import UptimeDay

PAGE_SIZE = 50
RECENT_RESULTS = 50
UPTIME_DAYS = 90
RUN_NOW_COOLDOWN_S = 30
# Problems first, as on any NOC wall: down, then unconfirmed, degraded, the rest.
STATE_ORDER = {
    CheckState.DOWN: 0,
    CheckState.UNCONFIRMED_DOWN: 1,
    CheckState.DEGRADED: 2,
    CheckState.PENDING: 3,
    CheckState.UP: 4,
    CheckState.PAUSED: 5,
}
CHART_RANGES = {
    "24h": (dt.timedelta(hours=24), "Last 24 hours"),
    "7d": (dt.timedelta(days=7), "Last 7 days"),
}
# What the list shows of a check: narrow rows sort fast at 10,000 monitors.
LIST_COLUMNS = [
    "id", "organization_id", "name", "check_type", "state", "is_paused", "service",
    "last_checked_at", "last_response_time_ms",
]  # fmt: skip
# Settings worth showing besides the target (URL, host, port, record name, shown as one
# line); credentials, headers and bodies never are.
SHOWN_SETTINGS = [
    ("method", "Method"), ("record_type", "Record type"), ("expected", "Expected"),
    ("resolver_ip", "Resolver"), ("keyword", "Keyword"),
    ("keyword_absent", "Keyword must be absent"), ("accepted_status", "Accepted status"),
    ("degraded_after_ms", "Degraded after (ms)"), ("follow_redirects", "Follow redirects"),
    ("verify_tls", "Verify TLS"), ("warn_days", "Warn days before expiry"),
    ("critical_days", "Critical days before expiry"), ("json_path", "JSON path"),
    ("period_s", "Expected every (s)"), ("grace_s", "Grace (s)"),
]  # fmt: skip


# --- Rollups for a page of monitors ---------------------------------------------------------


def _hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _percent(total: int, good: int) -> float | None:
    return 100.0 * good / total if total else None


@dataclass(frozen=True)
class Hour:
    """One hourly bucket of the rollups, as the list needs it."""

    total: int
    good: int
    response_count: int
    response_sum_ms: int
    avg_ms: float | None


@dataclass
class Rollup:
    """What the list shows of one monitor beyond its row: 24 hourly points, two uptimes."""

    hours: list[Hour | None]
    uptime_24h: float | None = None
    uptime_30d: float | None = None
    avg_24h_ms: float | None = None
    sparkline: Any = None


def rollups(check_ids: Iterable[uuid.UUID], now: dt.datetime | None = None) -> dict:
    """Sparkline and uptime figures for the given monitors: two queries, whatever the count.

    Tuples, not model instances: a page of 50 monitors reads 1,200 hourly rows.
    """
    ids = list(check_ids)
    now = now or timezone.now()
    first_hour = _hour(now) - dt.timedelta(hours=23)
    hours = [first_hour + dt.timedelta(hours=n) for n in range(24)]
    by_check: dict[uuid.UUID, dict[dt.datetime, Hour]] = defaultdict(dict)
    month: dict[uuid.UUID, tuple[int, int]] = {}
    if ids:
        hourly = MonitoringStatistic.objects.filter(
            monitor_id__in=ids, period=MonitoringStatistic.Period.HOUR, bucket_start__gte=first_hour
        ).values_list(
            "monitor_id", "bucket_start", "total_checks", "up_checks", "degraded_checks",
            "response_count", "response_sum_ms", "avg_response_ms",
        )  # fmt: skip
        for check_id, start, total, up, degraded, count, sum_ms, avg_ms in hourly:
            by_check[check_id][_hour(start)] = Hour(total, up + degraded, count, sum_ms, avg_ms)
        first_day = dt.datetime.combine(
            now.astimezone(dt.UTC).date() - dt.timedelta(days=29), dt.time(), tzinfo=dt.UTC
        )
        daily = (
            MonitoringStatistic.objects.filter(
                monitor_id__in=ids,
                period=MonitoringStatistic.Period.DAY,
                bucket_start__gte=first_day,
            )
            .values("monitor_id")
            .annotate(total=Sum("total_checks"), good=Sum("up_checks") + Sum("degraded_checks"))
            .values_list("monitor_id", "total", "good")
        )
        month = {check_id: (total, good) for check_id, total, good in daily}
    result = {}
    for check_id in ids:
        rows = [by_check[check_id].get(hour) for hour in hours]
        known = [row for row in rows if row is not None]
        count = sum(row.response_count for row in known)
        rollup = Rollup(
            hours=rows,
            uptime_24h=_percent(sum(r.total for r in known), sum(r.good for r in known)),
            avg_24h_ms=sum(row.response_sum_ms for row in known) / count if count else None,
            uptime_30d=_percent(*month.get(check_id, (0, 0))),
        )
        label = "Response time, last 24 h: " + (
            f"average {rollup.avg_24h_ms:.0f} ms" if rollup.avg_24h_ms is not None else "no data"
        )
        rollup.sparkline = charts.sparkline([r.avg_ms if r else None for r in rows], label=label)
        result[check_id] = rollup
    return result


# --- Monitors list --------------------------------------------------------------------------


class MonitorFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), ("problem", "Any problem"), *CheckState.choices]
    )
    type = forms.ChoiceField(required=False, choices=[("", "Any type"), *CheckType.choices])

    def filter(self, queryset):
        """Apply the valid filters; an invalid one (a stale link) is ignored, not an error."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("q"):
            queryset = queryset.filter(
                Q(name__icontains=data["q"])
                | Q(config__url__icontains=data["q"])
                | Q(config__host__icontains=data["q"])
            )
        if data.get("state") == "problem":
            queryset = queryset.filter(
                state__in=[CheckState.DOWN, CheckState.UNCONFIRMED_DOWN, CheckState.DEGRADED]
            )
        elif data.get("state"):
            queryset = queryset.filter(state=data["state"])
        if data.get("type"):
            queryset = queryset.filter(check_type=data["type"])
        return queryset


def _abilities(request: HttpRequest) -> dict[str, bool]:
    return {
        "can_respond": request.membership.allows(Permission.RESPOND),
        "can_configure": request.membership.allows(Permission.CONFIGURE),
    }


def _state_order() -> Case:
    return Case(
        *(When(state=state, then=Value(rank)) for state, rank in STATE_ORDER.items()),
        default=Value(9),
        output_field=IntegerField(),
    )


@require_GET
@member_required()
def monitor_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = MonitorFilterForm(request.GET or None)
    everything = MonitoringCheck.objects.filter(organization=organization)
    queryset = (
        form.filter(everything).select_related("service").only(*LIST_COLUMNS, "service__name")
    )
    queryset = queryset.annotate(state_rank=_state_order()).order_by("state_rank", "name", "id")
    counts = dict(everything.values_list("state").annotate(n=Count("id")).order_by())
    paginator = Paginator(queryset, PAGE_SIZE)
    if not form.is_bound:
        paginator.count = sum(counts.values())  # unfiltered: the state counts already say
    page = paginator.get_page(request.GET.get("page"))
    figures = rollups(check.pk for check in page.object_list)
    rows = [(check, figures[check.pk]) for check in page.object_list]
    summary = [
        (state, label, counts.get(state, 0))
        for state, label in CheckState.choices
        if counts.get(state)
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/monitor_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "summary": summary,
            "total": sum(counts.values()),
            "query": query.urlencode(),
            **_abilities(request),
        },
    )


# --- One monitor ----------------------------------------------------------------------------


def _get_check(request: HttpRequest, pk: uuid.UUID) -> MonitoringCheck:
    return get_object_or_404(
        MonitoringCheck.objects.select_related("service"), pk=pk, organization=request.organization
    )


def target_of(check: MonitoringCheck) -> str:
    """What the check probes, in one line (the URL, host:port or record name)."""
    config = check.config or {}
    if config.get("url"):
        return str(config["url"])
    if config.get("host"):
        port = config.get("port") or ",".join(str(p) for p in config.get("tcp_ports") or [])
        return f"{config['host']}:{port}" if port else str(config["host"])
    if config.get("name"):
        return f"{config.get('record_type', '')} {config['name']}".strip()
    return ""


def settings_of(check: MonitoringCheck) -> list[tuple[str, str]]:
    config = check.config or {}
    shown = []
    for key, label in SHOWN_SETTINGS:
        value = config.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        shown.append((label, str(value)))
    return shown


@dataclass
class ResultRow:
    checked_at: dt.datetime
    status: str
    status_label: str
    location: str
    response_time_ms: int | None
    reason: str


def recent_results(
    check: MonitoringCheck,
    limit: int = RECENT_RESULTS,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[ResultRow]:
    """The newest raw results of one check (newest first), with a reason a person can read."""
    rows = CheckResult.objects.filter(monitor=check)
    if since is not None:
        rows = rows.filter(checked_at__gte=since)
    if until is not None:
        rows = rows.filter(checked_at__lte=until)
    rows = rows.select_related("location").order_by("-checked_at")[:limit]
    result = []
    for row in rows:
        status = ResultStatus(row.status)
        reason = (row.reason or "").strip()
        if not reason:
            reason = "OK" if status == ResultStatus.UP else "No reason recorded"
        result.append(
            ResultRow(
                checked_at=row.checked_at,
                status=status.label.lower(),
                status_label=status.label,
                location=row.location.name if row.location_id else "Heartbeat (push)",
                response_time_ms=row.response_time_ms,
                reason=reason,
            )
        )
    return result


def hourly_chart(check: MonitoringCheck | uuid.UUID, span: dt.timedelta, label: str):
    """Average and p95 per hour from the rollups; hours with failures marked red."""
    now = timezone.now()
    first = _hour(now) - span + dt.timedelta(hours=1)
    rows = {
        _hour(row.bucket_start): row
        for row in MonitoringStatistic.objects.filter(
            monitor=check, period=MonitoringStatistic.Period.HOUR, bucket_start__gte=first
        )
    }
    points = []
    hour = first
    while hour <= _hour(now):
        row = rows.get(hour)
        failed = bool(row and row.down_checks)
        points.append(
            charts.Point(
                at=hour,
                ms=row.avg_response_ms if row else None,
                p95_ms=row.p95_response_ms if row else None,
                failed=failed,
                label=f"{row.down_checks} failed of {row.total_checks}" if failed else "",
            )
        )
        hour += dt.timedelta(hours=1)
    if not rows:
        points = []
    return charts.response_chart(points, label=label)


def results_chart(results: list[ResultRow], label: str):
    """Each recent run as a point (oldest left): for the incident page's short window."""
    points = [
        charts.Point(
            at=row.checked_at,
            ms=row.response_time_ms,
            failed=row.status == "down",
            label=f"{row.location}: {row.reason}",
        )
        for row in reversed(results)
    ]
    return charts.response_chart(points, label=label)


@dataclass
class UptimeBars:
    days: list[UptimeDay] = field(default_factory=list)
    percentage: Decimal | None = None


def uptime_bars(check: MonitoringCheck, alerts: list[MonitoringAlert]) -> UptimeBars:
    """90 daily bars in the public status page's shape (same classes, same tooltips)."""
    incidents_by_day: dict[dt.date, list[str]] = defaultdict(list)
    for alert in alerts:
        title = alert.incident.title if alert.incident_id else f"alert: {alert.failure_reason}"
        incidents_by_day[alert.opened_at.astimezone(dt.UTC).date()].append(title[:120])
    days = []
    total = good = 0
    for day in daily_uptime(check, UPTIME_DAYS):
        percent = day.uptime_percent
        days.append(
            UptimeDay(
                date=day.day,
                uptime=None if percent is None else Decimal(f"{percent:.4f}"),
                incidents=incidents_by_day.get(day.day, []),
            )
        )
        total += day.total
        good += day.up + day.degraded
    percentage = Decimal(f"{100 * good / total:.2f}") if total else None
    return UptimeBars(days, percentage)


@require_GET
@member_required()
def monitor_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    check = _get_check(request, pk)
    chart_range = request.GET.get("range") if request.GET.get("range") in CHART_RANGES else "24h"
    span, span_label = CHART_RANGES[chart_range]
    since = timezone.now() - dt.timedelta(days=UPTIME_DAYS)
    alerts = list(
        MonitoringAlert.objects.filter(monitor=check)
        .filter(Q(status=MonitoringAlert.Status.OPEN) | Q(opened_at__gte=since))
        .select_related("incident")
        .order_by("-opened_at")
    )
    return render(
        request,
        "monitoring/monitor_detail.html",
        {
            "check": check,
            "target": target_of(check),
            "settings": settings_of(check),
            "locations": list(check.locations.all()),
            "results": recent_results(check),
            "chart": hourly_chart(check, span, f"Response time, {span_label.lower()}"),
            "chart_range": chart_range,
            "chart_ranges": [(key, label) for key, (_span, label) in CHART_RANGES.items()],
            "bars": uptime_bars(check, alerts),
            "uptime_days": UPTIME_DAYS,
            "open_alerts": [a for a in alerts if a.status == MonitoringAlert.Status.OPEN],
            "past_alerts": [a for a in alerts if a.status != MonitoringAlert.Status.OPEN][:20],
            **_abilities(request),
        },
    )


# --- Actions --------------------------------------------------------------------------------


def _set_paused(request: HttpRequest, check: MonitoringCheck, paused: bool) -> str:
    """Conditional update: a double click or another tab changes nothing the second time."""
    changed = MonitoringCheck.objects.filter(pk=check.pk, is_paused=not paused).update(
        is_paused=paused, updated_at=Now()
    )
    verb = "paused" if paused else "resumed"
    if not changed:
        return f"{check.name} was already {verb}."
    record_activity(
        request.organization,
        f"monitor_{verb}",
        obj=check,
        description=f"{verb.title()} {check.name}"[:500],
        request=request,
    )
    return f"{check.name} {verb}."


def request_run(check: MonitoringCheck) -> int:
    """Queue one run of ``check`` now on each of its locations' queues; how many were queued.

    Runs where scheduled runs do (a worker in each region), not in the web process. A
    second request within ``RUN_NOW_COOLDOWN_S`` queues nothing (cache.add is atomic).
    """
    from alert24.celery import app
    from monitoring.engine import MESSAGE_EXPIRY_S, RUN_CHECKS_TASK

    if not cache.add(f"monitor-run-now:{check.pk}", 1, RUN_NOW_COOLDOWN_S):
        return 0
    now = dt.datetime.now(dt.UTC)
    locations = list(check.locations.filter(is_active=True))
    for location in locations:
        app.send_task(
            RUN_CHECKS_TASK,
            args=[location.pk, [[str(check.pk), now.isoformat()]]],
            queue=location.queue,
            expires=now + dt.timedelta(seconds=MESSAGE_EXPIRY_S),
        )
    return len(locations)


class Refused(Exception):
    """An action that cannot be done now; its text is shown as the message."""


def _run_now(request: HttpRequest, check: MonitoringCheck) -> str:
    if check.check_type == CheckType.HEARTBEAT:
        raise Refused("A heartbeat check runs when your job pings it; there is nothing to run.")
    if check.is_paused:
        raise Refused(f"{check.name} is paused; resume it to run it.")
    queued = request_run(check)
    if not queued:
        if not check.locations.exists():
            raise Refused(f"{check.name} has no monitoring location to run from.")
        return f"A run of {check.name} was requested moments ago; its result is on the way."
    record_activity(
        request.organization,
        "monitor_run_requested",
        obj=check,
        description=f"Run now: {check.name}"[:500],
        metadata={"locations": str(queued)},
        request=request,
    )
    return f"Running {check.name} from {queued} location(s); results appear in a few seconds."


ACTIONS = {
    "pause": lambda request, check: _set_paused(request, check, True),
    "resume": lambda request, check: _set_paused(request, check, False),
    "run": _run_now,
}


@require_POST
@member_required(Permission.RESPOND)
def monitor_action(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    """Pause, resume, run now. htmx gets the updated row back; a plain form, a redirect."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("Unknown action.")
    check = _get_check(request, pk)
    try:
        done, ok = handler(request, check), True
    except Refused as error:
        done, ok = str(error), False
    if request.htmx and request.POST.get("from") == "list":
        check = _get_check(request, pk)
        check.state_rank = STATE_ORDER.get(check.state, 9)
        return render(
            request,
            "monitoring/_monitor_row.html",
            {
                "check": check,
                "rollup": rollups([check.pk])[check.pk],
                "row_message": done,
                "row_ok": ok,
                **_abilities(request),
            },
        )
    (messages.success if ok else messages.error)(request, done)
    if request.POST.get("from") == "list":
        return redirect("monitor-list")
    return redirect("monitor-detail", pk=check.pk)


# --- On the incident page -------------------------------------------------------------------

INCIDENT_RESULTS = 200
INCIDENT_TABLE_ROWS = 20
INCIDENT_LEAD = dt.timedelta(hours=1)


def incident_monitor_context(incident: Any) -> dict[str, Any]:
    """The monitor whose alert opened ``incident``: its runs from an hour before until now
    (or shortly after resolution), charted, and the newest of them as a table."""
    alert = (
        MonitoringAlert.objects.filter(incident=incident)
        .select_related("monitor")
        .order_by("-opened_at")
        .first()
    )
    if alert is None:
        return {"linked_monitor": None}
    until = incident.resolved_at + INCIDENT_LEAD if incident.resolved_at else None
    results = recent_results(
        alert.monitor, INCIDENT_RESULTS, since=incident.created_at - INCIDENT_LEAD, until=until
    )
    return {
        "linked_monitor": alert.monitor,
        "linked_alert": alert,
        "monitor_results": results[:INCIDENT_TABLE_ROWS],
        "monitor_chart": results_chart(results, f"Response time of {alert.monitor.name}"),
    }
