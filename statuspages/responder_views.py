"""Status pages in the responder app: the list of pages, and telling customers from an incident.

The incident page gets a "post a status-page update" panel (:func:`incident_panel`): with
no public incident linked yet, one form opens it (:func:`statuspages.services.publish_incident`);
once linked, the same place posts its updates (:func:`statuspages.services.post_update`).
Responders may do both (Statuspage's "team members" post updates too); viewers read.
The rules — components following the public incident, history, subscriber notices,
cache invalidation of the public page — stay in those service functions and SQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from accounts.activity import record_activity
from accounts.roles import Permission
from incidents.models import Incident
from incidents.views import member_required
from statuspages import services
from statuspages.models import (
    CLOSED_INCIDENT_STATUSES,
    Component,
    ComponentService,
    ComponentStatus,
    Impact,
    IncidentStatus,
    MaintenanceStatus,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
)
from statuspages.pagedata import overall_status
from statuspages.rendering import render_markdown

# Postmortems are written in the admin, not in the heat of the incident.
UPDATE_STATUSES = [
    (value, label) for value, label in IncidentStatus.choices if value != "postmortem"
]
NOT_AFFECTED = ""
COMPONENT_CHOICES = [(NOT_AFFECTED, "Not affected"), *ComponentStatus.choices]
DUPLICATE_WINDOW = dt.timedelta(minutes=2)


# --- Forms ----------------------------------------------------------------------------------


def _component_field(component: Component) -> str:
    return f"component-{component.pk}"


class _ComponentStatusesMixin:
    """One "status" select per component of the page(s) in play: what the incident holds it at."""

    components: list[Component]

    def _add_component_fields(self, components: list[Component], initial: dict) -> None:
        self.components = components
        for component in components:
            self.fields[_component_field(component)] = forms.ChoiceField(
                choices=COMPONENT_CHOICES,
                required=False,
                label=component.name,
                initial=initial.get(component.pk, NOT_AFFECTED),
            )

    def component_statuses(self, page: StatusPage) -> dict[uuid.UUID, str]:
        chosen = {
            component: self.cleaned_data.get(_component_field(component))
            for component in self.components
        }
        chosen = {c: s for c, s in chosen.items() if s}
        elsewhere = [c.name for c in chosen if c.status_page_id != page.pk]
        if elsewhere:
            raise ValidationError({"components": f"Not on {page.name}: {', '.join(elsewhere)}."})
        return {c.pk: s for c, s in chosen.items()}

    def bound_components(self) -> list[tuple[Component, str]]:
        """Each component with its status select as HTML.

        Built here rather than by the widget's templates: an organization with many status
        pages puts hundreds of these selects on every incident page, and Django renders
        each ``<option>`` through two templates (with 200 components that was 0.4 s).
        """
        rows = []
        for component in self.components:
            field = self[_component_field(component)]
            chosen = str(field.value() or "")
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (value, mark_safe(" selected") if value == chosen else "", label)
                    for value, label in COMPONENT_CHOICES
                ),
            )
            select = format_html(
                '<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id, options
            )
            rows.append((component, select))
        return rows


class PublishForm(_ComponentStatusesMixin, forms.Form):
    status_page = forms.ModelChoiceField(queryset=StatusPage.objects.none(), label="Status page")
    name = forms.CharField(max_length=300, label="Title")
    status = forms.ChoiceField(choices=UPDATE_STATUSES, initial=IncidentStatus.INVESTIGATING)
    impact = forms.ChoiceField(choices=Impact.choices)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=20_000,
        label="Message (Markdown)",
        help_text="Customers read this. Say what is affected and what you are doing.",
    )
    deliver_notifications = forms.BooleanField(
        required=False, initial=True, label="Notify subscribers"
    )

    def __init__(
        self,
        *args: Any,
        incident: Incident,
        pages: list[StatusPage],
        components: list[Component],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status_page"].queryset = StatusPage.objects.filter(
            organization_id=incident.organization_id
        )
        if len(pages) == 1:
            self.fields["status_page"].initial = pages[0].pk
        self.fields["name"].initial = incident.title[:300]
        self.fields["impact"].initial = services.SEVERITY_IMPACT.get(
            incident.severity, Impact.MINOR
        )
        held = services.component_status_for_severity(incident.severity)
        linked = {
            c.pk: held
            for c in components
            if incident.service_id and incident.service_id in c.linked_service_ids
        }
        self._add_component_fields(components, linked)


class UpdateForm(_ComponentStatusesMixin, forms.Form):
    status = forms.ChoiceField(choices=UPDATE_STATUSES)
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=20_000, label="Message (Markdown)"
    )
    deliver_notifications = forms.BooleanField(
        required=False, initial=True, label="Notify subscribers"
    )

    def __init__(
        self, *args: Any, published: StatusPageIncident, components: list[Component], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].initial = (
            published.status if published.status in dict(UPDATE_STATUSES) else "resolved"
        )
        held = {a.component_id: a.status for a in published.affected.all()}
        self._add_component_fields(components, held)


# --- The incident page's panel --------------------------------------------------------------


@dataclass
class LinkedIncident:
    published: StatusPageIncident
    updates: list[StatusPageIncidentUpdate]
    form: UpdateForm | None


def _org_pages(organization_id: uuid.UUID) -> tuple[list[StatusPage], list[Component]]:
    pages = list(StatusPage.objects.filter(organization_id=organization_id).order_by("name"))
    components = list(
        Component.objects.filter(organization_id=organization_id)
        .select_related("status_page")
        .order_by("status_page__name", "position", "name")
    )
    # One query for the links, not a prefetch: prefetching builds a queryset per component.
    linked = defaultdict(set)
    if components:
        links = ComponentService.objects.filter(organization_id=organization_id)
        for component_id, service_id in links.values_list("component_id", "service_id"):
            linked[component_id].add(service_id)
    for component in components:
        component.linked_service_ids = linked[component.pk]
    return pages, components


def incident_panel(
    request: HttpRequest,
    incident: Incident,
    *,
    publish_form: PublishForm | None = None,
    update_form: tuple[uuid.UUID, UpdateForm] | None = None,
) -> dict[str, Any]:
    """Context for the incident page: linked public incidents and the forms a responder uses."""
    linked = list(
        StatusPageIncident.objects.filter(incident=incident)
        .select_related("status_page")
        .prefetch_related(
            Prefetch(
                "updates",
                queryset=StatusPageIncidentUpdate.objects.select_related("created_by").order_by(
                    "-display_at", "-created_at"
                ),
            ),
            Prefetch(
                "affected", queryset=StatusPageIncidentComponent.objects.select_related("component")
            ),
        )
        .order_by("-started_at")
    )
    can_respond = request.membership.allows(Permission.RESPOND)
    pages: list[StatusPage] = []
    components: list[Component] = []
    if can_respond:
        pages, components = _org_pages(incident.organization_id)
    entries = []
    for published in linked:
        updates = list(published.updates.all())
        for update in updates:
            update.html = render_markdown(update.body)
        form = None
        if can_respond:
            if update_form and update_form[0] == published.pk:
                form = update_form[1]
            else:
                form = UpdateForm(
                    published=published,
                    components=[
                        c for c in components if c.status_page_id == published.status_page_id
                    ],
                )
        entries.append(LinkedIncident(published, updates, form))
    if can_respond and pages and publish_form is None and not linked:
        publish_form = PublishForm(incident=incident, pages=pages, components=components)
    return {
        "status_page_incidents": entries,
        "publish_form": publish_form if can_respond and pages else None,
        "status_page_count": len(pages),
    }


def _field_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form, on the field it names where we have one."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        target = {"name": "name", "message": "message", "status": "status", "impact": "impact"}
        form.add_error(
            target.get(field), [f"{field}: {e}" if field not in target else e for e in errors]
        )


def _rerender(request: HttpRequest, incident: Incident, **panel: Any) -> HttpResponse:
    from incidents.views import render_incident

    messages.error(request, "The status-page update was not posted; see the form.")
    return render_incident(request, incident, status=400, status_page_panel=panel)


@require_POST
@member_required(Permission.RESPOND)
def publish_from_incident(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Open a public incident from this incident, in one step (idempotent per page)."""
    incident = get_object_or_404(Incident, pk=pk, organization=request.organization)
    pages, components = _org_pages(incident.organization_id)
    form = PublishForm(request.POST, incident=incident, pages=pages, components=components)
    if not form.is_valid():
        return _rerender(request, incident, publish_form=form)
    page = form.cleaned_data["status_page"]
    try:
        statuses = form.component_statuses(page)
        with transaction.atomic():
            # Serialise per incident: a double click cannot open two public incidents.
            Incident.objects.select_for_update().filter(pk=incident.pk).first()
            existing = (
                StatusPageIncident.objects.filter(incident=incident, status_page=page)
                .exclude(status__in=CLOSED_INCIDENT_STATUSES)
                .first()
            )
            if existing is not None:
                messages.info(
                    request, f"Already on {page.name} as “{existing.name}”; post an update there."
                )
                return redirect(reverse("incident-detail", args=[incident.pk]) + "#status-page")
            published = services.publish_incident(
                incident,
                page,
                message=form.cleaned_data["message"],
                name=form.cleaned_data["name"],
                status=form.cleaned_data["status"],
                impact=form.cleaned_data["impact"],
                components=statuses,
                user=request.user,
                deliver_notifications=form.cleaned_data["deliver_notifications"],
            )
            record_activity(
                request.organization,
                "status_page_incident_published",
                obj=published,
                description=f"{published.name} on {page.name}"[:500],
                metadata={"incident": str(incident.pk), "status_page": str(page.pk)},
                request=request,
            )
    except ValidationError as error:
        _field_errors(form, error)
        return _rerender(request, incident, publish_form=form)
    messages.success(request, f"Published on {page.name}: {published.get_status_display()}.")
    return redirect(reverse("incident-detail", args=[incident.pk]) + "#status-page")


@require_POST
@member_required(Permission.RESPOND)
def update_from_incident(
    request: HttpRequest, pk: uuid.UUID, published_pk: uuid.UUID
) -> HttpResponse:
    """Post an update to the public incident linked to this incident."""
    incident = get_object_or_404(Incident, pk=pk, organization=request.organization)
    published = get_object_or_404(
        StatusPageIncident.objects.select_related("status_page"),
        pk=published_pk,
        incident=incident,
        organization=request.organization,
    )
    components = list(Component.objects.filter(status_page=published.status_page_id))
    form = UpdateForm(request.POST, published=published, components=components)
    if not form.is_valid():
        return _rerender(request, incident, update_form=(published.pk, form))
    try:
        statuses = form.component_statuses(published.status_page)
        with transaction.atomic():
            StatusPageIncident.objects.select_for_update().filter(pk=published.pk).first()
            latest = published.updates.order_by("-created_at").first()
            if (
                latest is not None
                and latest.body == form.cleaned_data["message"].strip()
                and latest.status == form.cleaned_data["status"]
                and latest.created_at > timezone.now() - DUPLICATE_WINDOW
            ):
                messages.info(request, "That update was already posted.")
                return redirect(reverse("incident-detail", args=[incident.pk]) + "#status-page")
            update = services.post_update(
                published,
                status=form.cleaned_data["status"],
                message=form.cleaned_data["message"],
                components=statuses,
                user=request.user,
                deliver_notifications=form.cleaned_data["deliver_notifications"],
            )
            record_activity(
                request.organization,
                "status_page_update_posted",
                obj=update,
                description=f"{published.name}: {update.status}"[:500],
                metadata={"incident": str(incident.pk), "status_page_incident": str(published.pk)},
                request=request,
            )
    except ValidationError as error:
        _field_errors(form, error)
        return _rerender(request, incident, update_form=(published.pk, form))
    messages.success(
        request, f"Update posted on {published.status_page.name}: {update.get_status_display()}."
    )
    return redirect(reverse("incident-detail", args=[incident.pk]) + "#status-page")


# --- Status pages list ----------------------------------------------------------------------


@dataclass
class PageRow:
    page: StatusPage
    indicator: str
    description: str
    components: int
    open_incidents: list[StatusPageIncident]
    maintenance: list[MaintenanceWindow]


@require_GET
@member_required()
def status_page_list(request: HttpRequest) -> HttpResponse:
    """Every page of the organization with what its readers see right now."""
    from django.shortcuts import render

    pages = (
        StatusPage.objects.filter(organization=request.organization)
        .annotate(component_count=Count("components", distinct=True))
        .prefetch_related(
            Prefetch(
                "components", queryset=Component.objects.only("id", "status_page_id", "status")
            ),
            Prefetch(
                "incidents",
                queryset=StatusPageIncident.objects.exclude(
                    status__in=CLOSED_INCIDENT_STATUSES
                ).order_by("-started_at"),
                to_attr="open_incidents",
            ),
            Prefetch(
                "maintenance_windows",
                queryset=MaintenanceWindow.objects.filter(
                    status__in=[
                        MaintenanceStatus.SCHEDULED,
                        MaintenanceStatus.IN_PROGRESS,
                        MaintenanceStatus.VERIFYING,
                    ]
                ).order_by("scheduled_start"),
                to_attr="current_maintenance",
            ),
        )
        .order_by("name")
    )
    rows = []
    for page in pages:
        active = [w for w in page.current_maintenance if w.status != MaintenanceStatus.SCHEDULED]
        overall = overall_status(list(page.components.all()), page.open_incidents, active)
        rows.append(
            PageRow(
                page,
                overall.indicator,
                overall.description,
                page.component_count,
                page.open_incidents,
                page.current_maintenance,
            )
        )
    can_configure = request.membership.allows(Permission.CONFIGURE)
    return render(
        request,
        "statuspages/responder/page_list.html",
        {"rows": rows, "can_configure": can_configure},
    )
