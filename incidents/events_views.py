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

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.security import SecurityMiddleware
from django.views.decorators.csrf import csrf_exempt
from rest_framework.settings import api_settings

from accounts.api import throttling
from accounts.api.throttling import parse_rate
from incidents import events

log = logging.getLogger(__name__)

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


class RateLimit:
    """The per-routing-key limit ``DEFAULT_THROTTLE_RATES["events"]``, shared by every web
    process through Redis, taken in slices.

    Counting each event in Redis (``accounts.api.throttling.hit``) costs a round trip and
    about a third of an event's CPU. Instead a process reserves a slice of the window's
    quota with one ``INCRBY`` and spends it locally; the slice is ~1/500 of the limit (at
    least 1, at most 50), so a small limit is counted exactly and a large one may run over
    by at most a slice per process. Same keys and windows as ``hit()``; like it, the limit
    is skipped for a few seconds when Redis is unreachable (fail open), because a broker
    outage must never stop events being ingested.
    """

    MAX_SLICE = 50

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slices: dict[tuple[str, str, int], int] = {}  # (rate, key, window) → remaining
        self.down_until = 0.0

    def wait(self, routing_key: str, rate: str) -> float | None:
        """Take one event from the quota; None if allowed, else seconds until it reopens."""
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        local = (rate, routing_key, window)
        with self.lock:
            if self.slices.get(local, 0) > 0:
                self.slices[local] -= 1
                return None
            if now < self.down_until:
                return None
        size = min(self.MAX_SLICE, max(1, limit // 500))
        redis_key = f"alert24:throttle:events:{routing_key}:{window}"
        try:
            pipe = throttling._redis().pipeline(transaction=False)
            pipe.set(redis_key, 0, ex=period + 1, nx=True)
            pipe.incrby(redis_key, size)
            taken_before = pipe.execute()[1] - size
        except redis.RedisError:
            self.down_until = now + 5.0
            log.warning("events rate limit skipped: Redis is unreachable", exc_info=True)
            return None
        granted = min(size, limit - taken_before)
        if granted <= 0:
            return max(1.0, (window + 1) * period - now)
        with self.lock:
            if len(self.slices) > 10_000:
                self.slices = {k: v for k, v in self.slices.items() if k[2] == window}
            self.slices[local] = self.slices.get(local, 0) + granted - 1
        return None


rate_limit = RateLimit()


def _throttled(routing_key: str) -> JsonResponse | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("events")
    wait = rate_limit.wait(routing_key, rate) if rate else None
    if wait is None:
        return None
    response = JsonResponse(THROTTLED, status=429)
    response["Retry-After"] = str(int(wait + 0.999))
    return response


def post_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like ``require_POST``, but the 405 is JSON in the endpoint's own shape (PagerDuty's
    ``status``/``message``), with the ``Allow`` header, instead of an empty HTML page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            body = {"status": "method not allowed", "message": "Send events with POST."}
            response = JsonResponse(body, status=405)
            response["Allow"] = "POST"
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _invalid_routing_key() -> JsonResponse:
    body = {"status": "invalid event", "message": "Event object is invalid"}
    return JsonResponse({**body, "errors": ["Invalid routing key"]}, status=400)


@csrf_exempt
@post_only
def enqueue(request: HttpRequest) -> JsonResponse:
    """PagerDuty Events API v2: trigger, acknowledge or resolve; 202 with the dedup key."""
    answer = accept_event(request)
    return answer if isinstance(answer, HttpResponse) else JsonResponse(answer, status=202)


def accept_event(request: HttpRequest) -> dict | JsonResponse:
    """The 202 body for an accepted event, or the error response.

    Split from :func:`enqueue` so the front door can answer the 202 without building a
    response object."""
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
    return {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


@csrf_exempt
@post_only
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
@post_only
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
        view = self.view(request) if request.method == "POST" else None
        if view is None:
            return self.get_response(request)
        request.get_host()  # ALLOWED_HOSTS still applies (DisallowedHost → 400)
        response = view()
        # What CommonMiddleware would add; without it the answer is sent chunked.
        response.headers.setdefault("Content-Length", str(len(response.content)))
        return response

    def view(self, request: HttpRequest) -> Callable[[], HttpResponse] | None:
        path = request.path_info
        if path == "/v2/enqueue":
            return lambda: enqueue(request)
        if path == "/v2/change/enqueue":
            return lambda: change_enqueue(request)
        match = self.ALERTMANAGER.match(path)
        if match is not None:
            return lambda: alertmanager(request, match["key"])
        return None


class EventsFrontDoor:
    """The WSGI front door for event posts: the fast path above, run without Django's
    handler.

    By the time a request reaches :class:`EventsFastPathMiddleware` it has paid for
    Django's handler: the request-started signal (the same connection housekeeping runs
    when the server closes the response, through request-finished), the exception
    wrappers of each middleware and the response plumbing. At a thousand events a second
    on two cores that is worth skipping. The same object decides which requests are
    events, the Host is validated the same way and SecurityMiddleware's headers are
    added, so the answer is what the stack would send. Anything else, and a request the
    stack would refuse or redirect before the view (a disallowed Host, plain HTTP under
    ``SECURE_SSL_REDIRECT``), goes to Django unchanged; an error in the view gets
    Django's own error response.
    """

    PREFIXES = ("/v2/", "/integrations/alertmanager/")

    def __init__(self, django_app: Callable) -> None:
        self.django_app = django_app
        self.fast_path = EventsFastPathMiddleware(get_response=django_app)
        self.security = SecurityMiddleware(get_response=django_app)
        self.security_headers: dict[bool, list[tuple[str, str]]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(
            self.PREFIXES
        ):
            request = WSGIRequest(environ)
            response = self.answer(request)
            if isinstance(response, bytes):  # an accepted event: the 202, ready to send
                start_response("202 Accepted", [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(response))),
                    *self.headers_for(request),
                ])  # fmt: skip
                return [response]
            if response is not None:
                start_response(f"{response.status_code} {response.reason_phrase}", [
                    *response.items()
                ])  # fmt: skip
                return response
        return self.django_app(environ, start_response)

    def answer(self, request: WSGIRequest) -> HttpResponse | bytes | None:
        """The event's answer (the 202's body as bytes, the common case, or a response),
        or None to let Django handle the request as usual."""
        try:
            if settings.SECURE_SSL_REDIRECT and not request.is_secure():
                return None
            view = self.fast_path.view(request)
            if view is None:
                return None
            request.get_host()
        except Exception:  # e.g. DisallowedHost: Django answers it with its 400
            return None
        try:
            if request.path_info == "/v2/enqueue":
                # The ingest hot path: no response object, no request-finished signal
                # (event_inbox.accept looks after the database connection itself).
                answer = accept_event(request)
                if isinstance(answer, dict):
                    return json.dumps(answer).encode()
                response = answer
            else:
                response = view()
        except Exception as error:
            response = response_for_exception(request, error)
        response.headers.setdefault("Content-Length", str(len(response.content)))
        return self.security.process_response(request, response)

    def headers_for(self, request: WSGIRequest) -> list[tuple[str, str]]:
        """SecurityMiddleware's headers for a request like this one: they depend only on
        its settings (read when it was made) and on whether the request is secure."""
        secure = request.is_secure()
        if secure not in self.security_headers:
            sample = self.security.process_response(request, HttpResponse())
            self.security_headers[secure] = [
                (name, value) for name, value in sample.items() if name != "Content-Type"
            ]
        return self.security_headers[secure]
