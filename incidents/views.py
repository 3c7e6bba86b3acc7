"""The responder web app: incidents, their timeline and actions, who is on call, schedules.

Server-rendered pages with small htmx fragments that refresh themselves (see
:mod:`incidents.live`). Every request already runs under row-level security for
``request.organization`` (``alert24.tenancy``); the views still filter by organization
explicitly, so another organization's id is a plain 404 either way. Every change goes
through :mod:`incidents.lifecycle` (never raw SQL), is idempotent for double clicks and
other tabs, and is recorded in the activity log unless a database trigger already records
it (status changes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Prefetch, Value, When
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.activity import record_activity
from accounts.models import User
from accounts.roles import Permission
from incidents import alert_details, lifecycle, live, oncall
from incidents import timeline as incident_timeline
from incidents.calendar import schedule_ical_url, user_ical_url
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    Incident,
    IncidentAssignment,
    IncidentEscalation,
    OnCallSchedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
    Service,
    Severity,
)

PAGE_SIZE = 25
# The incident page shows the newest entries of the timeline, with a link to all of them
# (``?timeline=all``, which the live fragment keeps); "all" stops at TIMELINE_LIMIT, the
# API pages through the rest.
TIMELINE_RECENT = 50
TIMELINE_LIMIT = 1000
TIMELINE_ALL = "all"
CALENDAR_DAYS = 14
LOCAL_INPUT = "%Y-%m-%dT%H:%M"
SNOOZE_CHOICES = [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (480, "8 hours")]
SNOOZE_CHOICES += [(1440, "24 hours")]


# --- Access ---------------------------------------------------------------------------------


def member_required(permission: str = Permission.VIEW) -> Callable:
    """Log in, belong to an organization, and hold ``permission`` there (else 403).

    Buttons a role may not use are hidden in the templates too; this is the server-side
    refusal that holds whatever the browser sends.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = request.membership
            if membership is None:
                return render(request, "incidents/no_organization.html", status=403)
            if not membership.allows(permission):
                raise PermissionDenied(f"Your role ({membership.role}) cannot do this.")
            # Times on every page read in the responder's own time zone.
            with timezone.override(request.user.zone):
                return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _abilities(request: HttpRequest) -> dict[str, bool]:
    membership = request.membership
    return {
        "can_respond": membership.allows(Permission.RESPOND),
        "can_configure": membership.allows(Permission.CONFIGURE),
    }


def _members(organization_id: uuid.UUID) -> list[User]:
    return list(
        User.objects.filter(memberships__organization_id=organization_id, is_active=True)
        .order_by("full_name", "email")
        .distinct()
    )


# --- Incidents list -------------------------------------------------------------------------


class IncidentFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", "Any status (open first)"),
        ("open", "Open"),
        ("triggered", "Triggered"),
        ("acknowledged", "Acknowledged"),
        ("resolved", "Resolved"),
    ]
    q = forms.CharField(required=False, max_length=200, label="Search titles")
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    severity = forms.ChoiceField(choices=[("", "Any severity"), *Severity.choices], required=False)
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label="Any service"
    )
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, organization_id: uuid.UUID, members: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organization_id=organization_id)
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("me", "Assigned to me"),
            ("none", "Unassigned"),
        ] + [(str(user.pk), str(user)) for user in members]

    def filter(self, queryset, user: User):
        """Apply the valid filters; invalid ones (a stale service id) are ignored."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("q"):
            queryset = queryset.filter(title__icontains=data["q"])
        status = data.get("status")
        if status == "open":
            queryset = queryset.exclude(status=Incident.Status.RESOLVED)
        elif status:
            queryset = queryset.filter(status=status)
        if data.get("severity"):
            queryset = queryset.filter(severity=data["severity"])
        if data.get("service"):
            queryset = queryset.filter(service=data["service"])
        assignee = data.get("assignee")
        if assignee == "me":
            queryset = queryset.filter(assignments__user=user)
        elif assignee == "none":
            queryset = queryset.filter(assignments__isnull=True)
        elif assignee:
            queryset = queryset.filter(assignments__user_id=assignee)
        return queryset


def _incident_page(request: HttpRequest) -> dict[str, Any]:
    organization = request.organization
    members = _members(organization.pk)
    form = IncidentFilterForm(request.GET or None, organization_id=organization.pk, members=members)
    queryset = (
        Incident.objects.filter(organization=organization)
        .select_related("service", "acknowledged_by")
        .prefetch_related(
            Prefetch("assignments", queryset=IncidentAssignment.objects.select_related("user"))
        )
        .annotate(
            closed=Case(
                When(status=Incident.Status.RESOLVED, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("closed", "-created_at", "-id")
    )
    queryset = form.filter(queryset, request.user)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"form": form, "page": page, "query": query.urlencode(), **_abilities(request)}


def _not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """204 for htmx polls (no swap), 304 for plain conditional GETs, when nothing changed."""
    if request.headers.get("If-None-Match") != etag:
        return None
    response = HttpResponse(status=204 if request.htmx else 304)
    response["ETag"] = etag
    return response


def _with_etag(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
@member_required()
def incident_list(request: HttpRequest) -> HttpResponse:
    context = _incident_page(request)
    context["etag"] = live.list_version(
        request.organization.pk, request.GET.urlencode(), request.membership.role
    )
    return render(request, "incidents/incident_list.html", context)


@require_GET
@member_required()
def incident_list_rows(request: HttpRequest) -> HttpResponse:
    """The list's live fragment: polled every few seconds, 204 when nothing changed."""
    etag = live.list_version(
        request.organization.pk, request.GET.urlencode(), request.membership.role
    )
    if (unchanged := _not_modified(request, etag)) is not None:
        return unchanged
    context = _incident_page(request)
    context["etag"] = etag
    return _with_etag(render(request, "incidents/_incident_rows.html", context), etag)


# --- One incident ---------------------------------------------------------------------------


def _timeline_mode(request: HttpRequest) -> str:
    return TIMELINE_ALL if request.GET.get("timeline") == TIMELINE_ALL else ""


def _get_incident(request: HttpRequest, pk: uuid.UUID) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related(
            "service", "acknowledged_by", "resolved_by", "escalation_policy", "merged_into"
        ),
        pk=pk,
        organization=request.organization,
    )


def _live_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    escalation = IncidentEscalation.objects.filter(incident=incident).first()
    showing_all = _timeline_mode(request) == TIMELINE_ALL
    timeline = incident_timeline.read(
        incident.pk, TIMELINE_LIMIT if showing_all else TIMELINE_RECENT, showing_all=showing_all
    )
    return {
        "incident": incident,
        "assignees": [
            assignment.user
            for assignment in IncidentAssignment.objects.filter(incident=incident)
            .select_related("user")
            .order_by("created_at")
        ],
        "escalation": escalation,
        "timeline": timeline.entries,
        "timeline_info": timeline,
        "seen": _seen(incident),
        **_abilities(request),
    }


def _seen(incident: Incident) -> str:
    """What the page showed, so a stale form can say the incident changed meanwhile."""
    return hashlib.sha256(f"{incident.status}|{incident.updated_at}".encode()).hexdigest()[:16]


@require_GET
@member_required()
def incident_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    return render_incident(request, _get_incident(request, pk))


def render_incident(
    request: HttpRequest,
    incident: Incident,
    *,
    status: int = 200,
    status_page_panel: dict[str, Any] | None = None,
) -> HttpResponse:
    """The incident page; other apps' forms posted from it re-render it with their errors."""
    from monitoring.pages import incident_monitor_context
    from statuspages.responder_views import incident_panel

    context = _live_context(request, incident)
    context.update(incident_monitor_context(incident))
    context.update(incident_panel(request, incident, **(status_page_panel or {})))
    context["alert_details"] = alert_details.describe(
        incident.details, source=incident.source, dedup_key=incident.dedup_key
    )
    context["etag"] = live.incident_version(
        incident.pk, request.membership.role, _timeline_mode(request)
    )
    if context["can_respond"]:
        context["members"] = _members(request.organization.pk)
        context["policies"] = list(
            EscalationPolicy.objects.filter(organization=request.organization)
            .only("id", "name")
            .order_by("name")
        )
        context["merge_candidates"] = list(
            Incident.objects.filter(organization=request.organization, merged_into__isnull=True)
            .exclude(status=Incident.Status.RESOLVED)
            .exclude(pk=incident.pk)
            .only("id", "title")
            .order_by("-created_at")[:30]
        )
        context["snooze_choices"] = SNOOZE_CHOICES
        context["severities"] = Severity.choices
    return render(request, "incidents/incident_detail.html", context, status=status)


@require_GET
@member_required()
def incident_live(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """The incident page's live fragment (status, assignees, buttons, timeline)."""
    if not Incident.objects.filter(pk=pk, organization=request.organization).exists():
        raise Http404("No such incident.")
    etag = live.incident_version(pk, request.membership.role, _timeline_mode(request))
    if (unchanged := _not_modified(request, etag)) is not None:
        return unchanged
    incident = _get_incident(request, pk)
    context = _live_context(request, incident)
    context["etag"] = etag
    return _with_etag(render(request, "incidents/_incident_live.html", context), etag)


# --- Actions --------------------------------------------------------------------------------


class Refused(Exception):
    """An action that cannot be done, with the message to show instead of an error page."""


def _log(request: HttpRequest, incident: Incident, activity: str, description: str, **meta):
    record_activity(
        request.organization,
        activity,
        obj=incident,
        description=description[:500],
        metadata={key: str(value) for key, value in meta.items()},
        request=request,
    )


def _act_acknowledge(request: HttpRequest, incident: Incident) -> str:
    changed = lifecycle.acknowledge(incident, request.user)
    return "Acknowledged." if changed else "Already acknowledged."


def _act_resolve(request: HttpRequest, incident: Incident) -> str:
    changed = lifecycle.resolve(incident, request.user)
    return "Resolved." if changed else "Already resolved."


def _act_snooze(request: HttpRequest, incident: Incident) -> str:
    try:
        minutes = int(request.POST.get("minutes", ""))
    except ValueError as error:
        raise Refused("Choose how long to snooze.") from error
    if minutes not in dict(SNOOZE_CHOICES):
        raise Refused("Choose how long to snooze.")
    if incident.status == Incident.Status.RESOLVED:
        raise lifecycle.IncidentClosed({"status": "This incident is already resolved."})
    lifecycle.snooze(incident, request.user, dt.timedelta(minutes=minutes))
    _log(request, incident, "incident_snoozed", f"Snoozed for {minutes} min", minutes=minutes)
    return f"Snoozed for {dict(SNOOZE_CHOICES)[minutes]}."


def _act_note(request: HttpRequest, incident: Incident) -> str:
    message = request.POST.get("message", "")
    if len(message) > 10_000:
        raise Refused("A note can be at most 10,000 characters.")
    lifecycle.add_note(incident, request.user, message)
    _log(request, incident, "incident_note_added", message[:200])
    return "Note added."


def _act_severity(request: HttpRequest, incident: Incident) -> str:
    severity = request.POST.get("severity", "")
    previous = incident.severity
    lifecycle.set_severity(incident, request.user, severity)
    if previous == severity:
        return f"Severity is already {severity}."
    _log(
        request,
        incident,
        "incident_severity_changed",
        f"{previous} → {severity}",
        **{"from": previous, "to": severity},
    )
    return f"Severity set to {severity}."


def _act_reassign(request: HttpRequest, incident: Incident) -> str:
    user_id, policy_id = request.POST.get("user", ""), request.POST.get("policy", "")
    if bool(user_id) == bool(policy_id):
        raise Refused("Choose either a person or an escalation policy.")
    try:
        if user_id:
            assignee = User.objects.filter(
                pk=uuid.UUID(user_id),
                memberships__organization=request.organization,
                is_active=True,
            ).first()
            if assignee is None:
                raise Refused("That person is not a member of this organization any more.")
            lifecycle.reassign_to_user(incident, assignee, request.user)
            _log(request, incident, "incident_reassigned", f"to {assignee}", user=assignee.pk)
            return f"Reassigned to {assignee}; they are being paged."
        policy = EscalationPolicy.objects.filter(
            pk=uuid.UUID(policy_id), organization=request.organization
        ).first()
    except ValueError as error:
        raise Refused("Choose either a person or an escalation policy.") from error
    if policy is None:
        raise Refused("That escalation policy no longer exists.")
    lifecycle.reassign_to_policy(incident, policy, request.user)
    _log(request, incident, "incident_reassigned", f"to policy {policy}", policy=policy.pk)
    return f"Reassigned to escalation policy {policy}."


def _act_escalate(request: HttpRequest, incident: Incident) -> str:
    if incident.status == Incident.Status.RESOLVED:
        raise lifecycle.IncidentClosed({"status": "This incident is already resolved."})
    if not lifecycle.escalate_now(incident, request.user):
        raise Refused("Nothing to escalate: nobody is being paged for this incident now.")
    _log(request, incident, "incident_escalated", "Escalated manually")
    return "Escalating to the next level now."


def _act_merge(request: HttpRequest, incident: Incident) -> str:
    wanted = request.POST.getlist("incidents")
    try:
        ids = [uuid.UUID(value) for value in wanted]
    except ValueError as error:
        raise Refused("Choose the incidents to merge into this one.") from error
    if not ids:
        raise Refused("Choose the incidents to merge into this one.")
    duplicates = list(
        Incident.objects.filter(pk__in=ids, organization=request.organization).exclude(
            pk=incident.pk
        )
    )
    if len(duplicates) != len(set(ids)):
        raise Refused("Some of those incidents no longer exist here; reload and choose again.")
    merged = lifecycle.merge(incident, duplicates, request.user)
    _log(
        request,
        incident,
        "incident_merged",
        f"Merged {merged} incident(s)",
        incidents=",".join(str(d.pk) for d in duplicates),
    )
    for duplicate in duplicates:
        live.incident_changed(duplicate)
    return f"Merged {merged} incident(s) into this one." if merged else "Already merged."


ACTIONS: dict[str, Callable[[HttpRequest, Incident], str]] = {
    "acknowledge": _act_acknowledge,
    "resolve": _act_resolve,
    "snooze": _act_snooze,
    "note": _act_note,
    "severity": _act_severity,
    "reassign": _act_reassign,
    "escalate": _act_escalate,
    "merge": _act_merge,
}


@require_POST
@member_required(Permission.RESPOND)
def incident_action(request: HttpRequest, pk: uuid.UUID, action: str) -> HttpResponse:
    """Every button on the incident page posts here; always answers with a redirect back.

    A double click, another tab's resolve or a stale form is a message, never an error.
    """
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("Unknown action.")
    incident = _get_incident(request, pk)
    stale = request.POST.get("seen") and request.POST.get("seen") != _seen(incident)
    try:
        done = handler(request, incident)
    except lifecycle.IncidentClosed:
        messages.info(request, "This incident is already resolved; nothing to do.")
    except Refused as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if stale and action not in ("note",):
            done += f" (It had changed since you opened it: now {incident.get_status_display()}.)"
        messages.success(request, done)
        incident.refresh_from_db()
        live.incident_changed(incident)
    return redirect("incident-detail", pk=incident.pk)


# --- On call --------------------------------------------------------------------------------


@dataclass
class LevelView:
    rule: EscalationRule
    targets: list[tuple[EscalationTarget, User | None]]


@require_GET
@member_required()
def oncall_now(request: HttpRequest) -> HttpResponse:
    """Who is on call now for every schedule, and whom each policy level reaches now."""
    organization = request.organization
    schedules = list(OnCallSchedule.objects.filter(organization=organization))
    now_on_call = oncall.on_call_now(schedules)
    policies = EscalationPolicy.objects.filter(organization=organization).prefetch_related(
        Prefetch(
            "rules",
            queryset=EscalationRule.objects.order_by("position").prefetch_related(
                Prefetch(
                    "targets",
                    queryset=EscalationTarget.objects.select_related("user", "schedule", "team"),
                )
            ),
        )
    )
    policy_views = []
    for policy in policies:
        levels = []
        for rule in policy.rules.all():
            targets = []
            for target in rule.targets.all():
                if target.target_type == EscalationTarget.TargetType.SCHEDULE:
                    targets.append((target, now_on_call.get(target.schedule_id)))
                else:
                    targets.append((target, target.user))
            levels.append(LevelView(rule, targets))
        policy_views.append((policy, levels))
    rows = [(schedule, now_on_call.get(schedule.pk)) for schedule in schedules]
    return render(
        request,
        "incidents/oncall.html",
        {"schedules": rows, "policies": policy_views, **_abilities(request)},
    )


class OverrideForm(forms.ModelForm):
    """Times are read on the schedule's wall clock (the page shows them that way)."""

    class Meta:
        model = ScheduleOverride
        fields = ["user", "start_at", "end_at"]
        widgets = {
            "start_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
            "end_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        }
        labels = {"user": "Who covers", "start_at": "From", "end_at": "Until"}

    def __init__(self, *args: Any, schedule: OnCallSchedule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule = schedule
        self.fields["user"].queryset = User.objects.filter(
            memberships__organization_id=schedule.organization_id, is_active=True
        ).order_by("full_name", "email")
        self.instance.schedule = schedule
        self.instance.organization_id = schedule.organization_id

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_at"), data.get("end_at")
        if start and end:
            if end <= start:
                self.add_error("end_at", "An override must end after it starts.")
            elif end <= timezone.now():
                self.add_error("end_at", "This override would already be over.")
            elif end - start > dt.timedelta(days=90):
                self.add_error("end_at", "An override can cover at most 90 days.")
        return data


def _bar(shift: oncall.Shift, start: dt.datetime, end: dt.datetime, zone) -> dict[str, Any]:
    total = (end - start).total_seconds()
    left = max((shift.start - start).total_seconds(), 0) / total * 100
    right = min((shift.end - start).total_seconds(), total) / total * 100
    user_key = str(shift.user_id)
    return {
        "user": shift.user,
        "start": shift.start.astimezone(zone),
        "end": shift.end.astimezone(zone),
        "left": f"{left:.3f}",
        "width": f"{max(right - left, 0.2):.3f}",
        "color": int(hashlib.sha256(user_key.encode()).hexdigest(), 16) % 8,
    }


def _schedule_context(request: HttpRequest, schedule: OnCallSchedule) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(schedule.time_zone)
    today = timezone.now().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today + dt.timedelta(days=offset) for offset in range(CALENDAR_DAYS)]
    # Wall-clock midnights (DST-safe): build each from the date, not by adding hours.
    days = [dt.datetime.combine(day.date(), dt.time(), tzinfo=zone) for day in days]
    start = days[0]
    end = dt.datetime.combine((days[-1] + dt.timedelta(days=1)).date(), dt.time(), tzinfo=zone)
    layers = list(
        ScheduleLayer.objects.filter(schedule=schedule)
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=ScheduleLayerMember.objects.select_related("user").order_by("position"),
            )
        )
        .order_by("-position")
    )
    rows = []
    for layer in layers:
        rows.append(
            {
                "name": layer.name,
                "kind": "layer",
                "detail": ", ".join(str(m.user) for m in layer.memberships.all()),
                "bars": [_bar(s, start, end, zone) for s in oncall.layer_shifts(layer, start, end)],
            }
        )
    overrides = list(
        ScheduleOverride.objects.filter(schedule=schedule, end_at__gt=start, start_at__lt=end)
        .select_related("user")
        .order_by("start_at")
    )
    override_bars = [
        _bar(
            oncall.Shift(o.user_id, o.user, max(o.start_at, start), min(o.end_at, end)),
            start,
            end,
            zone,
        )
        for o in overrides
    ]
    final = [_bar(s, start, end, zone) for s in oncall.shifts(schedule, start, end)]
    return {
        "schedule": schedule,
        "zone": zone,
        "days": days,
        "rows": rows,
        "override_bars": override_bars,
        "overrides": overrides,
        "final": final,
        "ical_url": request.build_absolute_uri(schedule_ical_url(schedule)),
        **_abilities(request),
    }


def _get_schedule(request: HttpRequest, pk: uuid.UUID) -> OnCallSchedule:
    return get_object_or_404(OnCallSchedule, pk=pk, organization=request.organization)


@require_GET
@member_required()
def schedule_detail(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    schedule = _get_schedule(request, pk)
    context = _schedule_context(request, schedule)
    if context["can_respond"]:
        with timezone.override(context["zone"]):
            now = timezone.localtime().replace(second=0, microsecond=0)
            context["form"] = OverrideForm(
                schedule=schedule,
                initial={"start_at": now, "end_at": now + dt.timedelta(hours=8)},
            )
    return render(request, "incidents/schedule_detail.html", context)


@require_POST
@member_required(Permission.RESPOND)
def override_create(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Responders may cover a shift (as in PagerDuty); errors are shown on the form."""
    schedule = _get_schedule(request, pk)
    with timezone.override(zoneinfo.ZoneInfo(schedule.time_zone)):
        form = OverrideForm(request.POST, schedule=schedule)
        if form.is_valid():
            override = form.save(commit=False)
            override.created_by = request.user
            override.save()
            record_activity(
                request.organization,
                "schedule_override_created",
                obj=override,
                description=f"{override.user} covers {schedule.name}"[:500],
                metadata={
                    "schedule": str(schedule.pk),
                    "user": str(override.user_id),
                    "start_at": override.start_at.isoformat(),
                    "end_at": override.end_at.isoformat(),
                },
                request=request,
            )
            messages.success(request, f"Override added: {override.user} covers {schedule.name}.")
            return redirect("schedule-detail", pk=schedule.pk)
        context = _schedule_context(request, schedule)
        context["form"] = form
        return render(request, "incidents/schedule_detail.html", context, status=400)


@require_POST
@member_required(Permission.RESPOND)
def override_delete(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    override = ScheduleOverride.objects.filter(pk=pk, organization=request.organization).first()
    if override is None:
        messages.info(request, "That override was already removed.")
        return redirect("oncall")
    schedule_id = override.schedule_id
    record_activity(
        request.organization,
        "schedule_override_deleted",
        obj=override,
        description=f"{override.user_id} {override.start_at:%Y-%m-%d %H:%M}",
        metadata={"schedule": str(schedule_id), "user": str(override.user_id)},
        request=request,
    )
    override.delete()
    messages.success(request, "Override removed.")
    return redirect("schedule-detail", pk=schedule_id)


@require_GET
@member_required()
def my_shifts(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    shifts = oncall.user_shifts(
        request.user, now, now + dt.timedelta(days=28), organization=request.organization
    )
    return render(
        request,
        "incidents/my_shifts.html",
        {
            "shifts": shifts,
            "ical_url": request.build_absolute_uri(
                user_ical_url(request.user, request.organization)
            ),
            "zone": request.user.zone,
        },
    )


# --- Pusher ---------------------------------------------------------------------------------


@require_POST
@login_required
def pusher_auth(request: HttpRequest) -> HttpResponse:
    """Sign a subscription to the user's own organization's channel, and nothing else."""
    if not live.pusher_configured():
        raise Http404("Live updates through Pusher are not configured.")
    membership = request.membership
    channel = request.POST.get("channel_name", "")
    socket_id = request.POST.get("socket_id", "")
    if membership is None or channel != live.channel_name(membership.organization_id):
        return HttpResponseForbidden("Not your organization's channel.")
    try:
        signed = live.pusher_client().authenticate(channel=channel, socket_id=socket_id)
    except ValueError:
        return HttpResponseForbidden("Invalid socket id.")
    return JsonResponse(signed)
