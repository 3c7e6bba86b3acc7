"""Reading a page's content: components, incidents, maintenance, uptime bars, overall status.

Called inside ``organization_scope(page.organization_id)`` by the public views (on a cache
miss only) and by the JSON API, feeds and badges. Everything here reads; nothing writes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q

from statuspages.models import (
    CLOSED_INCIDENT_STATUSES,
    Component,
    ComponentGroup,
    ComponentStatus,
    MaintenanceStatus,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
    UptimeCalculation,
)

UPTIME_DAYS = 90

RANK = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}
IMPACT_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
INDICATOR_BY_RANK = ["none", "minor", "major", "critical"]
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
# Text and symbol beside every colour, so colour is never the only signal.
STATUS_SYMBOL = {
    ComponentStatus.OPERATIONAL: "✓",
    ComponentStatus.DEGRADED_PERFORMANCE: "!",
    ComponentStatus.PARTIAL_OUTAGE: "!",
    ComponentStatus.MAJOR_OUTAGE: "✕",
    ComponentStatus.UNDER_MAINTENANCE: "⚙",
}


def worst(statuses) -> str:
    return max(statuses, key=lambda s: RANK.get(s, 0), default=ComponentStatus.OPERATIONAL)


@dataclass
class Overall:
    indicator: str  # none | minor | major | critical | maintenance (Statuspage's enum)
    description: str


def overall_status(
    components: list[Component],
    open_incidents: list[StatusPageIncident],
    active_maintenance: list[MaintenanceWindow],
) -> Overall:
    """Statuspage's page indicator: the worst of component statuses and open incidents.

    major outage → critical, partial outage → major, degraded → minor; an open incident
    counts at its impact. With nothing wrong but maintenance running: maintenance.
    """
    rank = 0
    for component in components:
        rank = max(rank, {2: 1, 3: 2, 4: 3}.get(RANK.get(component.status, 0), 0))
    for incident in open_incidents:
        rank = max(rank, IMPACT_RANK.get(incident.impact, 0))
    if rank == 0 and (
        active_maintenance or any(c.status == ComponentStatus.UNDER_MAINTENANCE for c in components)
    ):
        return Overall("maintenance", DESCRIPTIONS["maintenance"])
    indicator = INDICATOR_BY_RANK[rank]
    return Overall(indicator, DESCRIPTIONS[indicator])


@dataclass
class GroupView:
    group: ComponentGroup | None
    components: list[Component]

    @property
    def status(self) -> str:
        return worst(c.status for c in self.components)


@dataclass
class UptimeDay:
    date: dt.date
    uptime: Decimal | None  # None: no data (before the component existed)
    incidents: list[str] = field(default_factory=list)
    maintenance: bool = False

    @property
    def level(self) -> str:
        """CSS class; the text (title and hidden label) says the same in words."""
        if self.uptime is None:
            return "nodata"
        if self.uptime >= Decimal("99.99"):
            return "up"
        if self.uptime >= Decimal("99"):
            return "minor"
        if self.uptime >= Decimal("95"):
            return "partial"
        return "major"

    @property
    def label(self) -> str:
        when = self.date.strftime("%d %b %Y")
        if self.uptime is None:
            return f"{when}: no data"
        text = f"{when}: {self.uptime:.2f}% uptime"
        if self.incidents:
            text += f", {len(self.incidents)} incident(s): " + "; ".join(self.incidents)
        elif self.maintenance:
            text += ", maintenance"
        else:
            text += ", no incidents"
        return text


@dataclass
class ComponentUptime:
    component: Component
    days: list[UptimeDay]
    percentage: Decimal | None


def grouped_components(page: StatusPage) -> tuple[list[Component], list[GroupView]]:
    """All components (by position) and the page's layout: groups and loose components."""
    components = list(Component.objects.filter(status_page=page).order_by("position", "name", "id"))
    groups = list(ComponentGroup.objects.filter(status_page=page).order_by("position", "name"))
    by_group: dict = defaultdict(list)
    for component in components:
        by_group[component.group_id].append(component)
    layout: list[tuple[int, GroupView]] = [
        (group.position, GroupView(group, by_group[group.pk]))
        for group in groups
        if by_group.get(group.pk)
    ]
    for component in by_group.get(None, []):
        layout.append((component.position, GroupView(None, [component])))
    layout.sort(key=lambda item: item[0])
    return components, [view for _, view in layout]


def incidents_queryset(page: StatusPage):
    return (
        StatusPageIncident.objects.filter(status_page=page)
        .select_related("status_page")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=StatusPageIncidentUpdate.objects.order_by("-display_at", "-created_at"),
            ),
            Prefetch(
                "affected",
                queryset=StatusPageIncidentComponent.objects.select_related("component"),
            ),
        )
        .order_by("-started_at")
    )


def open_incidents(page: StatusPage) -> list[StatusPageIncident]:
    return list(incidents_queryset(page).exclude(status__in=CLOSED_INCIDENT_STATUSES))


def maintenance_queryset(page: StatusPage):
    return (
        MaintenanceWindow.objects.filter(status_page=page)
        .prefetch_related("components")
        .order_by("scheduled_start")
    )


def active_maintenance(page: StatusPage) -> list[MaintenanceWindow]:
    return list(
        maintenance_queryset(page).filter(
            status__in=[MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING]
        )
    )


def upcoming_maintenance(page: StatusPage) -> list[MaintenanceWindow]:
    return list(maintenance_queryset(page).filter(status=MaintenanceStatus.SCHEDULED))


def uptime_bars(
    page: StatusPage, components: list[Component], today: dt.date, days: int = UPTIME_DAYS
) -> list[ComponentUptime]:
    """90 days per showcased component from ``uptime_calculations`` (oldest first)."""
    shown = [c for c in components if c.showcase]
    if not shown:
        return []
    first = today - dt.timedelta(days=days - 1)
    rows = UptimeCalculation.objects.filter(
        status_page=page, component__in=shown, date__gte=first, date__lte=today
    ).values_list(
        "component_id",
        "date",
        "uptime_percentage",
        "incident_count",
        "counted_seconds",
        "downtime_seconds",
        "maintenance_seconds",
    )
    data: dict = {}
    totals: dict = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for component_id, date, uptime, count, counted, downtime, maintenance in rows:
        data[component_id, date] = (uptime, count, maintenance)
        totals[component_id][0] += Decimal(counted)
        totals[component_id][1] += Decimal(downtime)
    # Names of incidents per component-day, for the tooltips of days that had some.
    names: dict = defaultdict(list)
    window_start = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=1)
    affected = (
        StatusPageIncidentComponent.objects.filter(component__in=shown)
        .filter(
            Q(status_page_incident__resolved_at__isnull=True)
            | Q(status_page_incident__resolved_at__gte=window_start)
        )
        .values_list(
            "component_id",
            "status_page_incident__name",
            "status_page_incident__started_at",
            "status_page_incident__resolved_at",
        )
    )
    zone = _zone(page)
    for component_id, name, started, resolved in affected:
        start_day = started.astimezone(zone).date()
        end_day = (resolved.astimezone(zone).date()) if resolved else today
        day = max(start_day, first)
        while day <= min(end_day, today):
            names[component_id, day].append(name)
            day += dt.timedelta(days=1)
    result = []
    for component in shown:
        bar = []
        for offset in range(days):
            date = first + dt.timedelta(days=offset)
            uptime, _count, maintenance = data.get((component.pk, date), (None, 0, 0))
            bar.append(
                UptimeDay(date, uptime, names.get((component.pk, date), []), bool(maintenance))
            )
        counted, downtime = totals.get(component.pk, (Decimal(0), Decimal(0)))
        percentage = (
            (Decimal(100) * (1 - downtime / counted)).quantize(Decimal("0.01")) if counted else None
        )
        result.append(ComponentUptime(component, bar, percentage))
    return result


def _zone(page: StatusPage):
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(page.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def component_uptime_percentage(component: Component, today: dt.date, days: int = UPTIME_DAYS):
    """Weighted uptime over the last ``days`` days, or None without data."""
    rows = UptimeCalculation.objects.filter(
        component=component, date__gt=today - dt.timedelta(days=days), date__lte=today
    ).values_list("counted_seconds", "downtime_seconds")
    counted = sum(Decimal(c) for c, _ in rows)
    downtime = sum(Decimal(d) for _, d in rows)
    if not counted:
        return None
    return (Decimal(100) * (1 - downtime / counted)).quantize(Decimal("0.01"))
