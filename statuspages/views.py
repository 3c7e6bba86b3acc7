"""Public status page views: page, history, incident, feeds, JSON API, badges, subscriptions.

Every view starts the same way: :func:`public.resolve` finds the page through the narrow
lookup function, :func:`public.authorize` applies the private-page rule, and content is
read inside the page organization's RLS scope — on a cache miss only
(:func:`public.cached_response`). Forms here are CSRF-exempt on purpose: pages are served
from a shared cache to anonymous visitors (no per-visitor token is possible), the forms
act on no session, subscribing needs the address owner's confirmation, and unsubscribing
needs a signed token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from alert24.tenancy import organization_scope
from statuspages import api, badges, feeds, pagedata
from statuspages.models import (
    Component,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    Subscriber,
    UptimeCalculation,
)
from statuspages.public import (
    PageRef,
    authorize,
    cached_response,
    client_ip,
    render_error,
    resolve,
)
from statuspages.rendering import render_markdown
from statuspages.services import describe
from statuspages.subscriptions import (
    InvalidToken,
    check_unsubscribe_token,
    confirm,
    subscribe,
    unsubscribe,
)

HTML = "text/html; charset=utf-8"
SVG = "image/svg+xml; charset=utf-8"
JSON = "application/json"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
#: Subscribe attempts per page per client address per minute.
SUBSCRIBE_RATE_PER_MINUTE = 5
PAST_INCIDENT_DAYS = 7


def _open(request: HttpRequest, slug: str | None) -> PageRef:
    ref = resolve(request, slug)
    request.status_page_back = ref.base
    denied = authorize(request, ref)
    if denied is not None:
        raise _Denied(denied)
    return ref


class _Denied(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def public_view(methods: tuple[str, ...] = ("GET", "HEAD")):
    """Resolve + authorise, turning a refusal into its response (login redirect)."""

    def decorate(view):
        @require_http_methods(list(methods))
        def wrapper(request: HttpRequest, *args, slug: str | None = None, **kwargs):
            try:
                ref = _open(request, slug)
            except _Denied as denied:
                return denied.response
            return view(request, ref, *args, **kwargs)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def _page(ref: PageRef) -> StatusPage:
    return StatusPage.objects.get(pk=ref.id)


def _base_context(ref: PageRef, page: StatusPage) -> dict:
    return {"page": page, "base": ref.base, "describe": describe}


# --- HTML --------------------------------------------------------------------------------


def _annotate_updates(incidents) -> None:
    for incident in incidents:
        for update in incident.updates.all():
            update.html = render_markdown(update.body)


@public_view()
def page(request: HttpRequest, ref: PageRef) -> HttpResponse:
    """The status page: banner, components, incidents, maintenance, 90-day uptime."""

    def build() -> str:
        status_page = _page(ref)
        components, layout = pagedata.grouped_components(status_page)
        incidents = pagedata.open_incidents(status_page)
        active = pagedata.active_maintenance(status_page)
        upcoming = pagedata.upcoming_maintenance(status_page)
        _annotate_updates(incidents)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=PAST_INCIDENT_DAYS)
        past = list(
            pagedata.incidents_queryset(status_page)
            .filter(resolved_at__gte=since)
            .exclude(pk__in=[i.pk for i in incidents])
        )
        _annotate_updates(past)
        bars = {
            u.component.pk: u for u in pagedata.uptime_bars(status_page, components, ref.today())
        }
        groups = []
        for view in layout:
            shown = [
                c
                for c in view.components
                if not (c.only_show_if_degraded and c.status == "operational")
            ]
            if shown:
                groups.append(
                    {
                        "group": view.group,
                        "status": view.status,
                        "status_label": describe(view.status),
                        "components": [{"component": c, "uptime": bars.get(c.pk)} for c in shown],
                    }
                )
        context = {
            **_base_context(ref, status_page),
            "overall": pagedata.overall_status(components, incidents, active),
            "groups": groups,
            "incidents": incidents,
            "active_maintenance": active,
            "upcoming_maintenance": upcoming,
            "past_incidents": past,
            "components": components,
            "symbols": pagedata.STATUS_SYMBOL,
            "uptime_days": pagedata.UPTIME_DAYS,
        }
        return render_to_string("statuspages/page.html", context)

    return cached_response(request, ref, "page", HTML, build, daily=True, count_view=True)


@public_view()
def history(request: HttpRequest, ref: PageRef) -> HttpResponse:
    """Every published incident and maintenance, newest first, grouped by month."""

    def build() -> str:
        status_page = _page(ref)
        incidents = list(pagedata.incidents_queryset(status_page)[:200])
        _annotate_updates(incidents)
        windows = list(pagedata.maintenance_queryset(status_page).order_by("-scheduled_start"))
        months: dict[str, list] = {}
        entries = [(i.started_at, "incident", i) for i in incidents] + [
            (w.scheduled_start, "maintenance", w) for w in windows[:200]
        ]
        for when, kind, item in sorted(entries, key=lambda e: e[0], reverse=True):
            months.setdefault(when.strftime("%B %Y"), []).append({"kind": kind, "item": item})
        context = {**_base_context(ref, status_page), "months": months}
        return render_to_string("statuspages/history.html", context)

    return cached_response(request, ref, "history", HTML, build)


@public_view()
def incident(request: HttpRequest, ref: PageRef, incident_id: uuid.UUID) -> HttpResponse:
    """One incident and its whole timeline."""
    with organization_scope(ref.organization_id):
        if not StatusPageIncident.objects.filter(pk=incident_id, status_page_id=ref.id).exists():
            raise Http404("No such incident.")

    def build() -> str:
        status_page = _page(ref)
        item = pagedata.incidents_queryset(status_page).get(pk=incident_id)
        _annotate_updates([item])
        context = {**_base_context(ref, status_page), "incident": item}
        return render_to_string("statuspages/incident.html", context)

    return cached_response(request, ref, f"incident:{incident_id}", HTML, build)


@public_view()
def maintenance(request: HttpRequest, ref: PageRef, window_id: uuid.UUID) -> HttpResponse:
    with organization_scope(ref.organization_id):
        if not MaintenanceWindow.objects.filter(pk=window_id, status_page_id=ref.id).exists():
            raise Http404("No such maintenance.")

    def build() -> str:
        status_page = _page(ref)
        window = pagedata.maintenance_queryset(status_page).get(pk=window_id)
        window.html = render_markdown(window.description)
        context = {**_base_context(ref, status_page), "window": window}
        return render_to_string("statuspages/maintenance.html", context)

    return cached_response(request, ref, f"maintenance:{window_id}", HTML, build)


# --- Feeds, JSON, badges -----------------------------------------------------------------


@public_view()
def feed(request: HttpRequest, ref: PageRef, kind: str) -> HttpResponse:
    content_type = ATOM if kind == "atom" else RSS
    build = lambda: feeds.render_feed(request, _page(ref), kind)  # noqa: E731
    return cached_response(request, ref, f"feed:{kind}", content_type, build)


@public_view()
def api_v2(request: HttpRequest, ref: PageRef, endpoint: str) -> HttpResponse:
    """Statuspage-compatible JSON (see statuspages/api.py)."""
    if endpoint not in api.ENDPOINTS:
        raise Http404("No such endpoint.")
    return cached_response(
        request, ref, f"api:{endpoint}", JSON, lambda: api.render(_page(ref), endpoint)
    )


@public_view()
def page_badge(request: HttpRequest, ref: PageRef) -> HttpResponse:
    def build() -> str:
        status_page = _page(ref)
        components = list(Component.objects.filter(status_page=status_page))
        overall = pagedata.overall_status(
            components,
            pagedata.open_incidents(status_page),
            pagedata.active_maintenance(status_page),
        )
        return badges.badge("status", overall.description.lower(), overall.indicator)

    return cached_response(request, ref, "badge", SVG, build)


def _uptime_of(status_page: StatusPage, today: dt.date, component: Component | None):
    rows = UptimeCalculation.objects.filter(
        status_page=status_page,
        date__gt=today - dt.timedelta(days=pagedata.UPTIME_DAYS),
        date__lte=today,
    )
    if component is not None:
        rows = rows.filter(component=component)
    else:
        rows = rows.filter(component__showcase=True)
    counted = downtime = Decimal(0)
    for c, d in rows.values_list("counted_seconds", "downtime_seconds"):
        counted += Decimal(c)
        downtime += Decimal(d)
    if not counted:
        return None
    return (Decimal(100) * (1 - downtime / counted)).quantize(Decimal("0.01"))


def _uptime_badge(status_page: StatusPage, ref: PageRef, component: Component | None) -> str:
    percentage = _uptime_of(status_page, ref.today(), component)
    value = "no data" if percentage is None else f"{percentage}%"
    return badges.badge("uptime 90d", value, badges.uptime_colour(percentage))


@public_view()
def page_uptime_badge(request: HttpRequest, ref: PageRef) -> HttpResponse:
    return cached_response(
        request,
        ref,
        "uptime-badge",
        SVG,
        lambda: _uptime_badge(_page(ref), ref, None),
        daily=True,
    )


def _component(ref: PageRef, component_id: uuid.UUID) -> Component:
    component = Component.objects.filter(pk=component_id, status_page_id=ref.id).first()
    if component is None:
        raise Http404("No such component.")
    return component


@public_view()
def component_badge(request: HttpRequest, ref: PageRef, component_id: uuid.UUID) -> HttpResponse:
    with organization_scope(ref.organization_id):
        _component(ref, component_id)

    def build() -> str:
        component = _component(ref, component_id)
        return badges.badge(component.name, describe(component.status).lower(), component.status)

    return cached_response(request, ref, f"component-badge:{component_id}", SVG, build)


@public_view()
def component_uptime_badge(
    request: HttpRequest, ref: PageRef, component_id: uuid.UUID
) -> HttpResponse:
    with organization_scope(ref.organization_id):
        _component(ref, component_id)

    def build() -> str:
        return _uptime_badge(_page(ref), ref, _component(ref, component_id))

    return cached_response(request, ref, f"component-uptime:{component_id}", SVG, build, daily=True)


# --- Subscriptions -----------------------------------------------------------------------


class SubscribeForm(forms.Form):
    channel = forms.ChoiceField(choices=Subscriber.Channel.choices, initial="email")
    target = forms.CharField(max_length=500, strip=True)
    components = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, components=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["components"].choices = [(str(c.pk), c.name) for c in components]


def _rate_limited(ref: PageRef, request: HttpRequest) -> bool:
    """Fixed one-minute window per page and client address, in the shared cache."""
    key = f"statuspages:subscribe-rate:{ref.id}:{client_ip(request)}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    return count > SUBSCRIBE_RATE_PER_MINUTE


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(render_to_string(template, context), status=status)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@public_view(methods=("GET", "HEAD", "POST"))
def subscribe_view(request: HttpRequest, ref: PageRef) -> HttpResponse:
    """Subscribe form; every valid address gets the same answer (no enumeration)."""
    with organization_scope(ref.organization_id):
        status_page = _page(ref)
        components = list(Component.objects.filter(status_page=status_page))
        context = _base_context(ref, status_page)
        if request.method != "POST":
            form = SubscribeForm(components=components)
            return _render(request, "statuspages/subscribe.html", {**context, "form": form})
        if _rate_limited(ref, request):
            response = render_error(
                request,
                "Too many requests",
                "Too many subscription requests from your address. Try again in a minute.",
                429,
            )
            response["Retry-After"] = "60"
            return response
        form = SubscribeForm(request.POST, components=components)
        if form.is_valid():
            try:
                result = subscribe(
                    status_page,
                    form.cleaned_data["channel"],
                    form.cleaned_data["target"],
                    form.cleaned_data["components"],
                )
            except ValidationError as error:
                form.add_error("target", error)
            else:
                channel = result.subscriber.channel
                return _render(
                    request, "statuspages/subscribed.html", {**context, "channel": channel}
                )
        return _render(request, "statuspages/subscribe.html", {**context, "form": form}, 400)


@require_GET
def confirm_view(request: HttpRequest, token: str, slug: str | None = None) -> HttpResponse:
    ref = resolve(request, slug)
    request.status_page_back = ref.base
    with organization_scope(ref.organization_id):
        status_page = _page(ref)
        try:
            confirm(status_page, token)
        except InvalidToken as error:
            return render_error(request, "Invalid link", str(error), 400)
        return _render(
            request,
            "statuspages/message.html",
            {
                "title": "Subscription confirmed",
                "message": f"You will hear about incidents and maintenance on {status_page.name}.",
                "back": ref.base,
            },
        )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_view(request: HttpRequest, token: str, slug: str | None = None) -> HttpResponse:
    """GET shows one button (mail scanners follow links); POST unsubscribes.

    POST also serves RFC 8058 one-click unsubscribe from mail clients.
    """
    ref = resolve(request, slug)
    request.status_page_back = ref.base
    with organization_scope(ref.organization_id):
        status_page = _page(ref)
        try:
            if request.method == "POST":
                unsubscribe(status_page, token)
                return _render(
                    request,
                    "statuspages/message.html",
                    {
                        "title": "Unsubscribed",
                        "message": f"You will no longer hear from {status_page.name} status.",
                        "back": ref.base,
                    },
                )
            check_unsubscribe_token(status_page, token)
        except InvalidToken as error:
            return render_error(request, "Invalid link", str(error), 400)
        return _render(request, "statuspages/unsubscribe.html", {**_base_context(ref, status_page)})


@dataclass(frozen=True)
class CachedRoute:
    """How a view names its cached output, so the fast path can find it without the view."""

    name: str
    content_type: str
    daily: bool = False
    count_view: bool = False


#: Path after ``/status/<slug>/`` → the cache entry the view above stores for it.
CACHED_ROUTES: dict[str, CachedRoute] = {
    "": CachedRoute("page", HTML, daily=True, count_view=True),
    "history/": CachedRoute("history", HTML),
    "history.atom": CachedRoute("feed:atom", ATOM),
    "history.rss": CachedRoute("feed:rss", RSS),
    "badge.svg": CachedRoute("badge", SVG),
    "uptime.svg": CachedRoute("uptime-badge", SVG, daily=True),
    **{f"api/v2/{endpoint}": CachedRoute(f"api:{endpoint}", JSON) for endpoint in api.ENDPOINTS},
}
