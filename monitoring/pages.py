"""The responder app's monitor pages: the list, one monitor, pause / resume / run now.

Built to stay fast with 10,000 monitors (``bench/responder_pages.py``): a page of the list
costs three queries whatever the page — the state counts (the summary, and where each
state's rows start), the page's rows read state by state from an index, and one aggregate
of the rollups (``monitoring_statistics``) for the 50 monitors shown (hourly buckets of the
last 24 h for the sparkline and 24 h uptime, daily buckets for 30 d), never raw
``check_results``. Rows are prepared in Python so the template only places text. The
detail page reads raw results only for its short "recent results" table.

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
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import BigIntegerField, Count, F, Func, Q, Sum
from django.db.models.functions import Now
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_GET, require_POST

from accounts.activity import record_activity
from accounts.roles import Permission
from incidents.views import member_required
from monitoring import charts
from monitoring.checks import secrets
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


def _percent(total: int | None, good: int | None) -> float | None:
    return 100.0 * (good or 0) / total if total else None


class EpochSeconds(Func):
    """A timestamp as whole seconds since 1970: an integer reads far cheaper than a datetime."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)::bigint"
    output_field = BigIntegerField()


@dataclass
class Rollup:
    """What the list shows of one monitor beyond its row: 24 hourly points, two uptimes."""

    hourly_ms: list[float | None]
    uptime_24h: float | None = None
    uptime_30d: float | None = None
    avg_24h_ms: float | None = None
    sparkline: Any = None


def rollups(check_ids: Iterable[uuid.UUID], now: dt.datetime | None = None) -> dict:
    """Sparkline and uptime figures for the given monitors in one query, whatever the count.

    PostgreSQL sums each monitor's hourly buckets of the last 24 h and daily buckets of the
    last 30 days and hands back one row per monitor with its hourly averages as an array
    (bucket starts as epoch seconds, which place each average in its hour): a page of 50
    monitors reads 50 rows, not 1,200 hourly rows and their datetimes.
    """
    ids = list(check_ids)
    now = now or timezone.now()
    first_hour = _hour(now) - dt.timedelta(hours=23)
    first_epoch = int(first_hour.timestamp())
    first_day = dt.datetime.combine(
        now.astimezone(dt.UTC).date() - dt.timedelta(days=29), dt.time(), tzinfo=dt.UTC
    )
    hour, day = Q(period=MonitoringStatistic.Period.HOUR), Q(period=MonitoringStatistic.Period.DAY)
    good = F("up_checks") + F("degraded_checks")
    rows = (
        MonitoringStatistic.objects.filter(monitor_id__in=ids)
        .filter(
            (hour & Q(bucket_start__gte=first_hour, bucket_start__lte=_hour(now)))
            | (day & Q(bucket_start__gte=first_day))
        )
        .order_by()  # the model's default ordering would join the checks to sort by name
        .values("monitor_id")
        .annotate(
            starts=ArrayAgg(EpochSeconds("bucket_start"), filter=hour, order_by="bucket_start"),
            averages=ArrayAgg("avg_response_ms", filter=hour, order_by="bucket_start"),
            total_24h=Sum("total_checks", filter=hour),
            good_24h=Sum(good, filter=hour),
            responses_24h=Sum("response_count", filter=hour),
            response_ms_24h=Sum("response_sum_ms", filter=hour),
            total_30d=Sum("total_checks", filter=day),
            good_30d=Sum(good, filter=day),
        )
    )
    columns = [
        "monitor_id", "starts", "averages", "total_24h", "good_24h", "responses_24h",
        "response_ms_24h", "total_30d", "good_30d",
    ]  # fmt: skip
    figures = {row[0]: row[1:] for row in rows.values_list(*columns)} if ids else {}
    result = {}
    for check_id in ids:
        starts, averages, total, up, responses, response_ms, total_30d, up_30d = figures.get(
            check_id, (None, None, None, None, None, None, None, None)
        )
        hourly: list[float | None] = [None] * 24
        for start, average in zip(starts or (), averages or (), strict=True):
            hourly[(start - first_epoch) // 3600] = average
        rollup = Rollup(
            hourly_ms=hourly,
            uptime_24h=_percent(total, up),
            avg_24h_ms=response_ms / responses if responses else None,
            uptime_30d=_percent(total_30d, up_30d),
        )
        label = "Response time, last 24 h: " + (
            f"average {rollup.avg_24h_ms:.0f} ms" if rollup.avg_24h_ms is not None else "no data"
        )
        rollup.sparkline = charts.sparkline(hourly, label=label)
        result[check_id] = rollup
    return result


# --- Monitors list --------------------------------------------------------------------------


class MonitorFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    state = forms.ChoiceField(
        required=False, choices=[("", "Any state"), ("problem", "Any problem"), *CheckState.choices]
    )
    type = forms.ChoiceField(required=False, choices=[("", "Any type"), *CheckType.choices])

    def active(self) -> bool:
        """Whether :meth:`filter` narrows anything (a page number alone does not)."""
        return self.is_valid() and any(self.cleaned_data.values())

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


def _state_counts(queryset) -> dict[str, int]:
    return dict(queryset.values_list("state").annotate(n=Count("id")).order_by())


class Listing:
    """The filtered monitors in list order (problems first, then by name), for Paginator.

    Ordering by a rank computed from the state would sort every monitor of the organization
    for each page. The state counts are known, so a page is instead cut out of the states
    it spans, each read in name order from the (organization, state, name, id) index, all
    in one UNION ALL query: the first page and the last cost the same.
    """

    def __init__(self, queryset, counts: dict[str, int]) -> None:
        self.queryset = queryset
        # Ranked states first; a state the ranking does not know (none today) goes last.
        self.segments = [
            (state, counts[state])
            for state in sorted(counts, key=lambda state: (STATE_ORDER.get(state, 9), state))
            if counts[state]
        ]

    def count(self) -> int:
        return sum(n for _state, n in self.segments)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[MonitoringCheck]:
        first, stop = window.start or 0, window.stop
        parts, offset = [], 0
        for state, n in self.segments:
            if first < offset + n and stop > offset:
                skip = max(first - offset, 0)
                take = min(offset + n, stop) - offset - skip
                parts.append(
                    self.queryset.filter(state=state).order_by("name", "id")[skip : skip + take]
                )
            offset += n
        if not parts:
            return []
        checks = list(parts[0].union(*parts[1:], all=True)) if len(parts) > 1 else list(parts[0])
        # UNION ALL keeps each part's order; a stable sort by rank puts the parts in order.
        checks.sort(key=lambda check: STATE_ORDER.get(check.state, 9))
        return checks


class UrlForId:
    """A URL with an object id in it, reversed once: each row only swaps in its own id."""

    PLACEHOLDER = uuid.UUID(int=0)

    def __init__(self, name: str, *args: str) -> None:
        self.pattern = reverse(name, args=[self.PLACEHOLDER, *args])

    def __call__(self, pk: uuid.UUID) -> str:
        return self.pattern.replace(str(self.PLACEHOLDER), str(pk))


@dataclass
class MonitorRow:
    """One row of the monitors list as text ready to print: 50 rows render in a few ms when
    the template only places strings (no URL reversing, date formatting or filters)."""

    check: MonitoringCheck
    rollup: Rollup
    url: str
    kind: str
    last_checked: str = ""
    last_checked_iso: str = ""
    last_checked_ago: str = ""
    avg_24h: str = ""
    uptime_24h: str = ""
    uptime_30d: str = ""
    actions: list[tuple[str, str]] = field(default_factory=list)


class RowBuilder:
    """Makes the list's rows; what is the same for every row (URL patterns, now) is done once."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.detail = UrlForId("monitor-detail")
        self.act = {action: UrlForId("monitor-act", action) for action in ACTIONS}

    def __call__(self, check: MonitoringCheck, rollup: Rollup) -> MonitorRow:
        row = MonitorRow(
            check=check,
            rollup=rollup,
            url=self.detail(check.pk),
            kind=" · ".join(
                [check.get_check_type_display()] + ([check.service.name] if check.service else [])
            ),
            avg_24h="" if rollup.avg_24h_ms is None else f"{rollup.avg_24h_ms:.0f}",
            uptime_24h="" if rollup.uptime_24h is None else f"{rollup.uptime_24h:.2f}%",
            uptime_30d="" if rollup.uptime_30d is None else f"{rollup.uptime_30d:.2f}%",
        )
        if check.last_checked_at:
            local = timezone.localtime(check.last_checked_at)
            # To the second, with the zone: strftime costs 1/30 of date_format's localized text.
            row.last_checked = local.strftime("%Y-%m-%d %H:%M:%S %Z")
            row.last_checked_iso = local.isoformat()
            row.last_checked_ago = timesince(check.last_checked_at, self.now)
        if check.is_paused:
            row.actions = [("Resume", self.act["resume"](check.pk))]
        else:
            row.actions = [("Pause", self.act["pause"](check.pk))]
            if check.check_type != CheckType.HEARTBEAT:
                row.actions.append(("Run now", self.act["run"](check.pk)))
        return row


def monitor_rows(checks: list[MonitoringCheck]) -> list[MonitorRow]:
    """The list's rows for ``checks``, with their rollups (one query for all of them)."""
    figures = rollups(check.pk for check in checks)
    build = RowBuilder()
    return [build(check, figures[check.pk]) for check in checks]


@require_GET
@member_required()
def monitor_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization
    form = MonitorFilterForm(request.GET or None)
    everything = MonitoringCheck.objects.filter(organization=organization)
    counts = _state_counts(everything)
    filtered = form.filter(everything)
    queryset = filtered.select_related("service").only(*LIST_COLUMNS, "service__name")
    # Unfiltered, the organization's state counts already say where each state's rows are.
    listing = Listing(queryset, _state_counts(filtered) if form.active() else counts)
    page = Paginator(listing, PAGE_SIZE).get_page(request.GET.get("page"))
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
            "rows": monitor_rows(page.object_list),
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
    """What the check probes, in one line (the URL, host:port or record name); a token in
    the URL is shown masked, as the API and admin show it."""
    config = check.config or {}
    if config.get("url"):
        return secrets.masked_url(str(config["url"]))
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
        return render(
            request,
            "monitoring/_monitor_row.html",
            {
                "row": monitor_rows([check])[0],
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
