"""Statuspage-compatible public JSON (``/status/<slug>/api/v2/*.json``).

Field names, enums and nesting follow Statuspage's public API v2, so existing clients
(status aggregators, `statuspage` widgets, chat bots) work unchanged: ``page``,
``status{indicator, description}``, ``components`` (groups appear as components with
``group: true`` and their children's ids, children carry ``group_id``), ``incidents`` with
``incident_updates`` and ``affected_components``, ``scheduled_maintenances`` with
``scheduled_for``/``scheduled_until``. Times are ISO 8601 in the page's time zone.
Incident update bodies are the responder's text as written (Statuspage serves plain text).
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from statuspages import pagedata
from statuspages.models import (
    CLOSED_INCIDENT_STATUSES,
    Component,
    ComponentGroup,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
)
from statuspages.subscriptions import page_url

RECENT = 50


class _Context:
    def __init__(self, page: StatusPage) -> None:
        self.page = page
        try:
            self.zone = zoneinfo.ZoneInfo(page.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.zone = zoneinfo.ZoneInfo("UTC")
        self._components: list[Component] | None = None

    def ts(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(self.zone).isoformat(timespec="milliseconds")

    @property
    def components(self) -> list[Component]:
        if self._components is None:
            self._components = list(
                Component.objects.filter(status_page=self.page).order_by("position", "name")
            )
        return self._components


def page_json(ctx: _Context) -> dict[str, Any]:
    page = ctx.page
    return {
        "id": str(page.pk),
        "name": page.name,
        "url": page_url(page).rstrip("/"),
        "time_zone": page.time_zone,
        "updated_at": ctx.ts(page.updated_at),
    }


def component_json(ctx: _Context, component: Component) -> dict[str, Any]:
    return {
        "id": str(component.pk),
        "name": component.name,
        "status": component.status,
        "created_at": ctx.ts(component.created_at),
        "updated_at": ctx.ts(component.updated_at),
        "position": component.position,
        "description": component.description or None,
        "showcase": component.showcase,
        "start_date": component.start_date.isoformat() if component.start_date else None,
        "group_id": str(component.group_id) if component.group_id else None,
        "page_id": str(component.status_page_id),
        "group": False,
        "only_show_if_degraded": component.only_show_if_degraded,
    }


def group_json(ctx: _Context, group: ComponentGroup, children: list[Component]) -> dict[str, Any]:
    return {
        "id": str(group.pk),
        "name": group.name,
        "status": pagedata.worst(c.status for c in children),
        "created_at": ctx.ts(group.created_at),
        "updated_at": ctx.ts(max([group.updated_at, *(c.updated_at for c in children)])),
        "position": group.position,
        "description": group.description or None,
        "showcase": False,
        "start_date": None,
        "group_id": None,
        "page_id": str(group.status_page_id),
        "group": True,
        "only_show_if_degraded": False,
        "components": [str(c.pk) for c in children],
    }


def components_list(ctx: _Context) -> list[dict[str, Any]]:
    components = ctx.components
    groups = list(ComponentGroup.objects.filter(status_page=ctx.page))
    result = [component_json(ctx, c) for c in components]
    for group in groups:
        children = [c for c in components if c.group_id == group.pk]
        result.append(group_json(ctx, group, children))
    result.sort(key=lambda item: (item["position"], item["name"]))
    return result


def _updates_json(ctx: _Context, incident_id: str, updates) -> list[dict[str, Any]]:
    return [
        {
            "id": str(update.pk),
            "status": update.status,
            "body": update.body,
            "incident_id": incident_id,
            "created_at": ctx.ts(update.created_at),
            "updated_at": ctx.ts(update.updated_at),
            "display_at": ctx.ts(update.display_at),
            "affected_components": update.affected_components or None,
            "deliver_notifications": update.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }
        for update in updates
    ]


def incident_json(ctx: _Context, incident: StatusPageIncident) -> dict[str, Any]:
    incident_id = str(incident.pk)
    return {
        "id": incident_id,
        "name": incident.name,
        "status": incident.status,
        "created_at": ctx.ts(incident.created_at),
        "updated_at": ctx.ts(incident.updated_at),
        "monitoring_at": ctx.ts(incident.monitoring_at),
        "resolved_at": ctx.ts(incident.resolved_at),
        "impact": incident.impact,
        "shortlink": page_url(ctx.page, f"incidents/{incident_id}/"),
        "started_at": ctx.ts(incident.started_at),
        "page_id": str(incident.status_page_id),
        "incident_updates": _updates_json(ctx, incident_id, incident.updates.all()),
        "components": [component_json(ctx, a.component) for a in incident.affected.all()],
    }


def _maintenance_updates(ctx: _Context, window: MaintenanceWindow) -> list[dict[str, Any]]:
    """Maintenance windows keep no separate timeline: one entry per state reached."""
    window_id = str(window.pk)
    steps = [("scheduled", window.created_at, window.description or f"{window.name} scheduled.")]
    if window.started_at:
        steps.append(("in_progress", window.started_at, "Scheduled maintenance is in progress."))
    if window.completed_at:
        steps.append(("completed", window.completed_at, "Scheduled maintenance has completed."))
    return [
        {
            "id": f"{window_id}-{status}",
            "status": status,
            "body": body,
            "incident_id": window_id,
            "created_at": ctx.ts(at),
            "updated_at": ctx.ts(at),
            "display_at": ctx.ts(at),
            "affected_components": None,
            "deliver_notifications": window.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }
        for status, at, body in reversed(steps)
    ]


def maintenance_json(ctx: _Context, window: MaintenanceWindow) -> dict[str, Any]:
    window_id = str(window.pk)
    return {
        "id": window_id,
        "name": window.name,
        "status": window.status,
        "created_at": ctx.ts(window.created_at),
        "updated_at": ctx.ts(window.updated_at),
        "monitoring_at": None,
        "resolved_at": ctx.ts(window.completed_at),
        "impact": window.impact,
        "shortlink": page_url(ctx.page, f"maintenance/{window_id}/"),
        "started_at": ctx.ts(window.started_at or window.scheduled_start),
        "page_id": str(window.status_page_id),
        "incident_updates": _maintenance_updates(ctx, window),
        "components": [component_json(ctx, c) for c in window.components.all()],
        "scheduled_for": ctx.ts(window.scheduled_start),
        "scheduled_until": ctx.ts(window.scheduled_end),
    }


def _status(ctx: _Context, incidents=None, active=None) -> dict[str, str]:
    if incidents is None:
        incidents = pagedata.open_incidents(ctx.page)
    if active is None:
        active = pagedata.active_maintenance(ctx.page)
    overall = pagedata.overall_status(ctx.components, incidents, active)
    return {"indicator": overall.indicator, "description": overall.description}


def summary(ctx: _Context) -> dict[str, Any]:
    incidents = pagedata.open_incidents(ctx.page)
    active = pagedata.active_maintenance(ctx.page)
    upcoming = pagedata.upcoming_maintenance(ctx.page)
    return {
        "page": page_json(ctx),
        "components": components_list(ctx),
        "incidents": [incident_json(ctx, i) for i in incidents],
        "scheduled_maintenances": [maintenance_json(ctx, w) for w in [*active, *upcoming]],
        "status": _status(ctx, incidents, active),
    }


def status(ctx: _Context) -> dict[str, Any]:
    return {"page": page_json(ctx), "status": _status(ctx)}


def components(ctx: _Context) -> dict[str, Any]:
    return {"page": page_json(ctx), "components": components_list(ctx)}


def incidents(ctx: _Context) -> dict[str, Any]:
    recent = pagedata.incidents_queryset(ctx.page)[:RECENT]
    return {"page": page_json(ctx), "incidents": [incident_json(ctx, i) for i in recent]}


def unresolved(ctx: _Context) -> dict[str, Any]:
    open_ = pagedata.incidents_queryset(ctx.page).exclude(status__in=CLOSED_INCIDENT_STATUSES)
    return {"page": page_json(ctx), "incidents": [incident_json(ctx, i) for i in open_]}


def _maintenances(ctx: _Context, statuses: list[str] | None) -> dict[str, Any]:
    windows = pagedata.maintenance_queryset(ctx.page).order_by("-scheduled_start")
    if statuses is not None:
        windows = windows.filter(status__in=statuses)
    return {
        "page": page_json(ctx),
        "scheduled_maintenances": [maintenance_json(ctx, w) for w in windows[:RECENT]],
    }


ENDPOINTS: dict[str, Callable[[_Context], dict[str, Any]]] = {
    "summary.json": summary,
    "status.json": status,
    "components.json": components,
    "incidents.json": incidents,
    "incidents/unresolved.json": unresolved,
    "scheduled-maintenances.json": lambda ctx: _maintenances(ctx, None),
    "scheduled-maintenances/upcoming.json": lambda ctx: _maintenances(ctx, ["scheduled"]),
    "scheduled-maintenances/active.json": lambda ctx: _maintenances(
        ctx, ["in_progress", "verifying"]
    ),
}


def render(page: StatusPage, endpoint: str) -> bytes:
    """The JSON document for ``endpoint`` (a key of ``ENDPOINTS``)."""
    document = ENDPOINTS[endpoint](_Context(page))
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
