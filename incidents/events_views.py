"""HTTP endpoints for events: ``/v2/enqueue``, ``/v2/change/enqueue`` (PagerDuty Events API
v2) and ``/integrations/alertmanager/<key>`` (Alertmanager ``webhook_config``).

No session, no CSRF, no API key: the routing key is the credential, as at PagerDuty. So
:class:`EventsFastPathMiddleware`, placed right after ``SecurityMiddleware``, answers these
requests itself and skips sessions, authentication, messages and the tenancy middleware's
transaction; the views are the same either way. Each event is one SQL statement that
resolves the key and writes under row-level security for its organization
(``incidents.events.apply``); on the fast path it commits before the 202 is sent. Any
failure before the write answers 400 with PagerDuty's body and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.settings import api_settings

from accounts.api.throttling import hit
from incidents import events

THROTTLED = {
    "status": "throttle event",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
}


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """At most ``limit + 1`` bytes, without reading an announced oversized body at all."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        return b"x" * (limit + 1)
    return request.read(limit + 1)


def _rejected(error: events.EventRejected) -> JsonResponse:
    return JsonResponse(error.body, status=400)


def _throttled(routing_key: str) -> JsonResponse | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("events")
    wait = hit("events", routing_key, rate) if rate else None
    if wait is None:
        return None
    response = JsonResponse(THROTTLED, status=429)
    response["Retry-After"] = str(int(wait + 0.999))
    return response


def _invalid_routing_key() -> JsonResponse:
    body = {"status": "invalid event", "message": "Event object is invalid"}
    return JsonResponse({**body, "errors": ["Invalid routing key"]}, status=400)


@csrf_exempt
@require_POST
def enqueue(request: HttpRequest) -> JsonResponse:
    """PagerDuty Events API v2: trigger, acknowledge or resolve; 202 with the dedup key."""
    try:
        body = events.parse_json_object(
            _read_body(request, events.MAX_EVENT_BYTES), request.content_type or ""
        )
        event = events.validate_event(body)
    except events.EventRejected as error:
        return _rejected(error)
    throttled = _throttled(event.routing_key)
    if throttled is not None:
        return throttled
    dedup_key = events.apply_event(event)
    if dedup_key is None:
        return _invalid_routing_key()
    body = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
    return JsonResponse(body, status=202)


@csrf_exempt
@require_POST
def change_enqueue(request: HttpRequest) -> JsonResponse:
    """PagerDuty change events: recorded against the service, no incident."""
    try:
        body = events.parse_json_object(
            _read_body(request, events.MAX_EVENT_BYTES), request.content_type or ""
        )
        routing_key, change = events.validate_change_event(body)
    except events.EventRejected as error:
        return _rejected(error)
    throttled = _throttled(routing_key)
    if throttled is not None:
        return throttled
    if not events.record_change_event(routing_key, change):
        return _invalid_routing_key()
    return JsonResponse({"status": "success", "message": "Change event processed"}, status=202)


@csrf_exempt
@require_POST
def alertmanager(request: HttpRequest, integration_key: str) -> JsonResponse:
    """Alertmanager ``webhook_config``: one incident per alert group (``groupKey``)."""
    try:
        body = events.parse_json_object(
            _read_body(request, events.MAX_ALERTMANAGER_BYTES),
            request.content_type or "",
            events.MAX_ALERTMANAGER_BYTES,
        )
        group = events.validate_alertmanager(body)
    except events.EventRejected as error:
        return _rejected(error)
    throttled = _throttled(integration_key)
    if throttled is not None:
        return throttled
    applied = events.apply_alertmanager(integration_key, group)
    if applied is None:
        return JsonResponse(
            {"status": "invalid event", "message": "Unknown integration key", "errors": []},
            status=404,
        )
    dedup_key, incident_id = applied
    body = {"status": "success", "dedup_key": dedup_key, "incident": incident_id}
    return JsonResponse(body, status=200)


class EventsFastPathMiddleware:
    """Answer event posts before the session/auth/tenancy stack.

    An event needs none of it: the key in the body (or URL) is the credential and the
    write scopes itself to the key's organization in SQL. Skipping the stack and its
    transaction turns an event into one Redis round trip (rate limit) and one database
    statement. The host check still applies (``get_host()``); other methods and paths
    fall through to the normal stack (a GET of ``/v2/enqueue`` gets its 405 there).
    """

    ALERTMANAGER = re.compile(r"^/integrations/alertmanager/(?P<key>[0-9a-zA-Z]{32})/?$")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            path = request.path_info
            if path == "/v2/enqueue":
                request.get_host()  # ALLOWED_HOSTS still applies (DisallowedHost → 400)
                return enqueue(request)
            if path == "/v2/change/enqueue":
                request.get_host()
                return change_enqueue(request)
            match = self.ALERTMANAGER.match(path)
            if match is not None:
                request.get_host()
                return alertmanager(request, match["key"])
        return self.get_response(request)
