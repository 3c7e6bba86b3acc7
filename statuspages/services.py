"""What responders and the scheduler do to status pages.

These functions state intent; the rules (components following incidents, history, cache
versions, notifications queued per update, maintenance start/complete) live in SQL
(``statuspages/sql/``) so they also hold for raw SQL writers. Each function is atomic: a
refused call writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from accounts.models import User
from incidents.models import Incident
from statuspages.models import (
    Component,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceComponent,
    MaintenanceStatus,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
)

log = logging.getLogger(__name__)

SEVERITY_COMPONENT_STATUS = {
    "critical": ComponentStatus.MAJOR_OUTAGE,
    "high": ComponentStatus.PARTIAL_OUTAGE,
}
SEVERITY_IMPACT = {"critical": Impact.CRITICAL, "high": Impact.MAJOR, "info": Impact.NONE}

ComponentStatuses = Mapping[Component | uuid.UUID | str, str] | Iterable[Component]


def component_status_for_severity(severity: str) -> str:
    """The same mapping as the SQL ``incident_severity_component_status``."""
    return SEVERITY_COMPONENT_STATUS.get(severity, ComponentStatus.DEGRADED_PERFORMANCE)


@contextmanager
def _status_reason(reason: str):
    """Tell the history trigger why components change (``component_status_history.reason``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.component_status_reason', %s, true)", [reason])
        yield
        cursor.execute("SELECT set_config('app.component_status_reason', '', true)")


def _require_message(message: str) -> str:
    if not (message or "").strip():
        raise ValidationError({"message": "Write what customers should know."})
    return message.strip()


def _require_choice(value: str, choices: type, field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: f"Use one of {', '.join(choices.values)}."})
    return value


def _component_statuses(
    page: StatusPage, components: ComponentStatuses | None, default_status: str
) -> dict[Component, str]:
    """Normalise ``{component or id: status}`` or ``[component, …]`` for one page."""
    if components is None:
        return {}
    pairs = (
        list(components.items())
        if isinstance(components, Mapping)
        else [(c, default_status) for c in components]
    )
    ids = {c.pk if isinstance(c, Component) else uuid.UUID(str(c)): s for c, s in pairs}
    found = {c.pk: c for c in Component.objects.filter(status_page=page, pk__in=ids)}
    missing = set(ids) - set(found)
    if missing:
        raise ValidationError({"components": "Choose components of this status page."})
    result = {}
    for pk, status in ids.items():
        result[found[pk]] = _require_choice(status, ComponentStatus, "components")
    return result


def _affected(before: dict[uuid.UUID, str], changes: dict[Component, str]) -> list[dict]:
    return [
        {
            "code": str(component.pk),
            "name": component.name,
            "old_status": before.get(component.pk, component.status),
            "new_status": status,
        }
        for component, status in changes.items()
    ]


def _kick_delivery() -> None:
    """Deliver at once instead of waiting for the next beat tick (beat stays the safety net)."""
    from statuspages.tasks import deliver_subscriber_notifications

    try:
        deliver_subscriber_notifications.apply_async(queue="notifications", expires=300)
    except Exception:
        log.warning("Could not enqueue subscriber delivery; the beat sweep will do it")


def publish_incident(
    incident: Incident | None,
    status_page: StatusPage,
    *,
    message: str,
    name: str = "",
    status: str = IncidentStatus.INVESTIGATING,
    impact: str | None = None,
    components: ComponentStatuses | None = None,
    user: User | None = None,
    deliver_notifications: bool = True,
) -> StatusPageIncident:
    """Open a public incident on ``status_page`` from an internal incident, in one step.

    By default it names the page's components linked to the incident's service and holds
    them at the status the severity implies (critical → major outage, high → partial
    outage, else degraded performance), takes the incident's title, and posts ``message``
    as its first update (which notifies subscribers). ``incident`` may be None for an
    incident declared by hand.
    """
    message = _require_message(message)
    _require_choice(status, IncidentStatus, "status")
    severity = incident.severity if incident is not None else "medium"
    impact = impact or SEVERITY_IMPACT.get(severity, Impact.MINOR)
    _require_choice(impact, Impact, "impact")
    name = (name or (incident.title if incident is not None else "")).strip()
    if not name:
        raise ValidationError({"name": "An incident needs a name."})
    if incident is not None and incident.organization_id != status_page.organization_id:
        raise ValidationError({"incident": "Choose an incident of the page's organization."})
    default_status = component_status_for_severity(severity)
    if components is None and incident is not None and incident.service_id:
        components = list(
            Component.objects.filter(status_page=status_page, services=incident.service_id)
        )
    with transaction.atomic(), _status_reason("published incident"):
        changes = _component_statuses(status_page, components, default_status)
        before = {c.pk: c.status for c in changes}
        published = StatusPageIncident.objects.create(
            organization_id=status_page.organization_id,
            status_page=status_page,
            incident=incident,
            name=name[:300],
            status=status,
            impact=impact,
        )
        StatusPageIncidentComponent.objects.bulk_create(
            StatusPageIncidentComponent(
                organization_id=status_page.organization_id,
                status_page_incident=published,
                component=component,
                status=component_status,
            )
            for component, component_status in changes.items()
        )
        _record_update(published, status, message, deliver_notifications, before, changes, user)
    published.refresh_from_db()
    return published


def _record_update(
    sp_incident: StatusPageIncident,
    status: str,
    message: str,
    deliver_notifications: bool,
    before: dict,
    changes: ComponentStatuses,
    user: User | None,
) -> StatusPageIncidentUpdate:
    """The timeline entry both publishing and later updates write; subscribers hear of it
    after commit."""
    update = StatusPageIncidentUpdate.objects.create(
        organization_id=sp_incident.organization_id,
        status_page_incident=sp_incident,
        status=status,
        body=message,
        deliver_notifications=deliver_notifications,
        affected_components=_affected(before, changes),
        created_by=user,
    )
    transaction.on_commit(_kick_delivery)
    return update


def post_update(
    status_page_incident: StatusPageIncident,
    *,
    status: str,
    message: str,
    components: ComponentStatuses | None = None,
    user: User | None = None,
    deliver_notifications: bool = True,
) -> StatusPageIncidentUpdate:
    """Post a timeline update; its status becomes the incident's (trigger).

    ``components`` changes what the incident holds affected components at (a component new
    to the incident is added). Resolving releases every component: each returns to
    operational unless something else still holds it (another incident, maintenance).
    """
    message = _require_message(message)
    _require_choice(status, IncidentStatus, "status")
    page = status_page_incident.status_page
    with transaction.atomic(), _status_reason(f"published incident {status}"):
        changes = _component_statuses(page, components, ComponentStatus.PARTIAL_OUTAGE)
        before = {c.pk: c.status for c in changes}
        for component, component_status in changes.items():
            StatusPageIncidentComponent.objects.update_or_create(
                status_page_incident=status_page_incident,
                component=component,
                defaults={
                    "status": component_status,
                    "organization_id": page.organization_id,
                },
            )
        update = _record_update(
            status_page_incident, status, message, deliver_notifications, before, changes, user
        )
    status_page_incident.refresh_from_db()
    return update


def set_component_status(component: Component, status: str, reason: str = "manual") -> None:
    """Set a component's status by hand (until the next event that recomputes it)."""
    _require_choice(status, ComponentStatus, "status")
    with _status_reason(reason):
        Component.objects.filter(pk=component.pk).update(status=status)
    component.refresh_from_db()


def schedule_maintenance(
    status_page: StatusPage,
    *,
    name: str,
    scheduled_start: dt.datetime,
    scheduled_end: dt.datetime,
    components: Iterable[Component] = (),
    description: str = "",
    auto_start: bool = True,
    auto_complete: bool = True,
    deliver_notifications: bool = True,
) -> MaintenanceWindow:
    """Plan maintenance; subscribers hear of it when the transaction commits."""
    window = MaintenanceWindow(
        organization_id=status_page.organization_id,
        status_page=status_page,
        name=(name or "").strip(),
        description=description,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        auto_start=auto_start,
        auto_complete=auto_complete,
        deliver_notifications=deliver_notifications,
    )
    window.full_clean(exclude=["organization", "status_page"])
    components = list(components)
    if any(c.status_page_id != status_page.pk for c in components):
        raise ValidationError({"components": "Choose components of this status page."})
    with transaction.atomic():
        window.save()
        MaintenanceComponent.objects.bulk_create(
            MaintenanceComponent(
                organization_id=status_page.organization_id,
                maintenance_window=window,
                component=component,
            )
            for component in components
        )
        transaction.on_commit(_kick_delivery)
    window.refresh_from_db()
    return window


def set_maintenance_status(window: MaintenanceWindow, status: str) -> MaintenanceWindow:
    """Start, verify or complete a window by hand (triggers move its components)."""
    _require_choice(status, MaintenanceStatus, "status")
    with transaction.atomic():
        MaintenanceWindow.objects.filter(pk=window.pk).update(status=status)
        transaction.on_commit(_kick_delivery)
    window.refresh_from_db()
    return window


def process_maintenance_windows() -> int:
    """Run ``process_maintenance_windows()``: how many windows started or completed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_maintenance_windows()")
        return cursor.fetchone()[0]


def calculate_uptime(days: int = 90, status_page: StatusPage | None = None) -> int:
    """Run ``calculate_all_component_uptime()``: how many component-days were (re)written."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT calculate_all_component_uptime(%s, %s)",
            [days, status_page.pk if status_page else None],
        )
        return cursor.fetchone()[0]


def components_in_maintenance(
    target: Component | uuid.UUID | str, at: dt.datetime | None = None
) -> list[Component]:
    """Components under maintenance at ``at`` (default now), for alert suppression.

    ``target`` is a component, or a monitoring check id: then every component that check
    drives is considered. An empty list means: alert as usual.
    """
    if isinstance(target, Component):
        candidates = Component.objects.filter(pk=target.pk)
    else:
        candidates = Component.objects.filter(monitoring_check_id=target)
    ids = list(candidates.values_list("pk", flat=True))
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::uuid[]) AS id"
            " WHERE component_in_maintenance(id, COALESCE(%s::timestamptz, now()))",
            [ids, at],
        )
        held = [row[0] for row in cursor.fetchall()]
    return list(Component.objects.filter(pk__in=held))


def set_components_for_monitoring_check(check_id: uuid.UUID | str, status: str) -> int:
    """Python face of the SQL function of the same name (what the monitoring app calls)."""
    _require_choice(status, ComponentStatus, "status")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_components_for_monitoring_check(%s, %s)", [check_id, status])
        return cursor.fetchone()[0]


def describe(value: Any) -> str:
    """Human label of a status/impact value (templates, e-mails)."""
    for choices in (ComponentStatus, IncidentStatus, MaintenanceStatus, Impact):
        if value in choices.values:
            return str(choices(value).label)
    return str(value)
