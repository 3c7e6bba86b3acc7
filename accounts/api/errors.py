"""One error body for every REST API failure, and its place in the OpenAPI schema.

Every 4xx answer of ``/api/v1/`` is::

    {"error": {"code": "validation_error", "message": "…", "fields": {"title": ["…"]}}}

``code`` is DRF's error code for the exception (``not_authenticated``,
``authentication_failed``, ``permission_denied``, ``not_found``, ``method_not_allowed``,
``throttled``, ``parse_error``, ``validation_error``, ``unsupported_media_type``,
``not_acceptable``), ``conflict`` for a request the current state refuses (acting on a
resolved incident, a duplicate name) or ``unavailable`` for a 503 (with ``Retry-After``).
``fields`` is present only for validation errors.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.openapi import AutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Unavailable(exceptions.APIException):
    """503: something the request depends on is down for a moment; ``wait`` seconds
    become the ``Retry-After`` header (as for a 429)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Temporarily unavailable; try again shortly."
    default_code = "unavailable"

    def __init__(self, detail: str | None = None, wait: int | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
        return ""
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with Django validation and integrity errors mapped, in our envelope."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, IntegrityError):
        exc = Conflict("This conflicts with an existing record.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        error = {"code": "validation_error", "message": _first_message(detail), "fields": fields}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        error = {"code": codes if isinstance(codes, str) else "error", "message": str(detail)}
    response.data = {"error": error}
    return response


@csrf_exempt  # like the API's views: a script's POST to a wrong URL learns it is wrong
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under ``/api/``: the API's JSON 404 instead of Django's HTML page.

    Routed last under ``/api``, so it also stands where ``APPEND_SLASH`` would have
    redirected (``/api/schema`` → ``/api/schema/``): it does that redirect itself.
    """
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(path + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "api-not-found":
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    body = {"error": {"code": "not_found", "message": str(exceptions.NotFound.default_detail)}}
    return JsonResponse(body, status=404)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="Messages per request field."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_CODES = {
    "400": "Invalid request (see `error.fields`).",
    "401": "Missing, unknown or revoked API key.",
    "403": "The key is read-only or the member's role does not allow this.",
    "404": "No such object in this organization.",
    "429": "Rate limit exceeded; see the `Retry-After` header.",
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error responses every operation can give."""

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = dict(ERROR_CODES)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes["409"] = "The current state refuses this (e.g. the incident is resolved)."
        for code, description in codes.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses
