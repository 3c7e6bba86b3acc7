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
from django.forms.utils import flatatt
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
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
    """One "status" select per component of ONE page: what the incident holds it at.

    Only the chosen page's components are fields (an organization with 20 pages would
    otherwise put hundreds of selects on every incident page). A ``component-<id>`` posted
    for a component that is not a field here (another page's, another organization's, one
    deleted meanwhile) is refused by name rather than dropped: the responder meant to mark
    it, and a public incident without it would tell customers less than they think.
    """

    components: list[Component]
    page_name: str

    def _add_component_fields(self, components: list[Component], initial: dict) -> None:
        self.components = components
        for component in components:
            self.fields[_component_field(component)] = forms.ChoiceField(
                choices=COMPONENT_CHOICES,
                required=False,
                label=component.name,
                initial=initial.get(component.pk, NOT_AFFECTED),
            )

    def _refuse_foreign_components(self) -> None:
        for key in self.data:
            if key.startswith("component-") and key not in self.fields and self.data.get(key):
                self.add_error(
                    None,
                    f"{key}: not a component of {self.page_name}; reload the page and choose "
                    "the affected components again.",
                )

    def component_statuses(self) -> dict[uuid.UUID, str]:
        chosen = {
            component.pk: self.cleaned_data.get(_component_field(component))
            for component in self.components
        }
        return {pk: status for pk, status in chosen.items() if status}

    def select(self, name: str) -> SafeString:
        """The field's ``<select>``, built here rather than by the widget's templates.

        Django renders each ``<option>`` through two templates, a tenth of a millisecond
        apiece; the incident page has a select per component plus the page chooser.
        """
        field = self[name]
        attrs = dict(field.field.widget.attrs)
        if field.field.required:
            attrs["required"] = True
        chosen = str(field.value() or "")
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, mark_safe(" selected") if str(value) == chosen else "", label)
                for value, label in field.field.choices
            ),
        )
        return format_html(
            '<select name="{}" id="{}"{}>{}</select>',
            field.html_name,
            field.auto_id,
            flatatt(attrs),
            options,
        )

    def bound_components(self) -> list[tuple[Component, SafeString]]:
        """Each component with its status select as HTML."""
        return [
            (component, self.select(_component_field(component))) for component in self.components
        ]


class PublishForm(_ComponentStatusesMixin, forms.Form):
    """Open a public incident: the page chooser, and the selects of the chosen page only.

    Changing the chooser fetches that page's selects (:func:`publish_components`); the
    POST is validated against the page it names, whatever the browser showed.
    """

    status_page = forms.TypedChoiceField(label="Status page", coerce=uuid.UUID)
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
        choice: PageChoice,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.pages = {page.pk: page for page in choice.pages}
        self.page_id = choice.page.pk if choice.page else None
        self.page_name = choice.page.name if choice.page else "this status page"
        chooser = self.fields["status_page"]
        chooser.choices = [(page.pk, page.name) for page in choice.pages]
        chooser.initial = choice.page.pk if choice.page else None
        chooser.widget.attrs.update(
            {
                "hx-get": reverse("status-page-publish-components", args=[incident.pk]),
                "hx-target": f"#{PUBLISH_COMPONENTS_ID}",
                "hx-swap": "outerHTML",
                "hx-trigger": "change",
                "hx-disabled-elt": "#sp-publish-form button[type=submit]",
            }
        )
        self.fields["name"].initial = incident.title[:300]
        self.fields["impact"].initial = services.SEVERITY_IMPACT.get(
            incident.severity, Impact.MINOR
        )
        held = services.component_status_for_severity(incident.severity)
        linked = {pk: held for pk in choice.service_components}
        self._add_component_fields(choice.components, linked)

    def selects(self) -> dict[str, SafeString]:
        return {name: self.select(name) for name in ("status_page", "status", "impact")}

    def clean_status_page(self) -> StatusPage:
        page = self.pages.get(self.cleaned_data["status_page"])
        if page is None:  # the choices are these pages; this is a stale form's
            raise ValidationError("That status page no longer exists.")
        return page

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._refuse_foreign_components()
        return data


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
        self.page_name = published.status_page.name
        self.fields["status"].initial = (
            published.status if published.status in dict(UPDATE_STATUSES) else "resolved"
        )
        held = {a.component_id: a.status for a in published.affected.all()}
        self._add_component_fields(components, held)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._refuse_foreign_components()
        return data


# --- The incident page's panel --------------------------------------------------------------

PUBLISH_COMPONENTS_ID = "sp-publish-components"


@dataclass
class LinkedIncident:
    published: StatusPageIncident
    updates: list[StatusPageIncidentUpdate]
    form: UpdateForm | None


@dataclass
class PageChoice:
    """The organization's pages, the one the publish form shows, and that page's components.

    ``service_components`` are the components (of any page) showing the incident's service:
    they start at the status the incident's severity implies.
    """

    pages: list[StatusPage]
    page: StatusPage | None
    components: list[Component]
    service_components: set[uuid.UUID]


def _components_of(organization_id: uuid.UUID, page_ids: list[uuid.UUID]) -> list[Component]:
    if not page_ids:
        return []
    return list(
        Component.objects.filter(organization_id=organization_id, status_page_id__in=page_ids)
        .only("id", "name", "status_page_id", "position")
        .order_by("position", "name")
    )


def _page_choice(incident: Incident, wanted: str | None = None) -> PageChoice:
    """Which page the publish form shows: ``wanted`` (the chooser's value) if it is one of
    the organization's pages, else the first page showing the incident's service, else the
    first by name. Three small queries, whatever the number of pages and components."""
    organization_id = incident.organization_id
    pages = list(StatusPage.objects.filter(organization_id=organization_id).order_by("name"))
    showing: dict[uuid.UUID, uuid.UUID] = {}
    if pages and incident.service_id:
        showing = dict(
            ComponentService.objects.filter(
                organization_id=organization_id, service_id=incident.service_id
            ).values_list("component_id", "component__status_page_id")
        )
    page = next((p for p in pages if str(p.pk) == wanted), None) if wanted else None
    if page is None:
        page = next((p for p in pages if p.pk in showing.values()), pages[0] if pages else None)
    components = _components_of(organization_id, [page.pk]) if page else []
    return PageChoice(pages, page, components, set(showing))


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
    components: dict[uuid.UUID, list[Component]] = defaultdict(list)
    if can_respond and linked:
        page_ids = list({published.status_page_id for published in linked})
        for component in _components_of(incident.organization_id, page_ids):
            components[component.status_page_id].append(component)
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
                    published=published, components=components[published.status_page_id]
                )
        entries.append(LinkedIncident(published, updates, form))
    page_count = 0
    if can_respond and not linked:
        if publish_form is None:
            publish_form = PublishForm(incident=incident, choice=_page_choice(incident))
        page_count = len(publish_form.pages)
    return {
        "status_page_incidents": entries,
        "publish_form": publish_form if can_respond and page_count else None,
        "status_page_count": page_count,
    }


@require_GET
@member_required(Permission.RESPOND)
def publish_components(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The publish form's component selects for the page just chosen (htmx swaps them in)."""
    incident = get_object_or_404(Incident, pk=pk, organization=request.organization)
    try:
        page_id = uuid.UUID(request.GET.get("status_page", ""))
    except ValueError:
        return HttpResponseBadRequest("status_page: choose one of your status pages.")
    choice = _page_choice(incident, str(page_id))
    if choice.page is None or choice.page.pk != page_id:
        raise Http404("No such status page.")
    form = PublishForm(incident=incident, choice=choice)
    return render(request, "statuspages/responder/_publish_components.html", {"form": form})


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
    choice = _page_choice(incident, request.POST.get("status_page"))
    form = PublishForm(request.POST, incident=incident, choice=choice)
    if not form.is_valid():
        return _rerender(request, incident, publish_form=form)
    page = form.cleaned_data["status_page"]
    try:
        statuses = form.component_statuses()
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
    components = _components_of(request.organization.pk, [published.status_page_id])
    form = UpdateForm(request.POST, published=published, components=components)
    if not form.is_valid():
        return _rerender(request, incident, update_form=(published.pk, form))
    try:
        statuses = form.component_statuses()
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
