"""Who an API request acts as, and in which organization (row-level security included).

Two ways in:

* ``Authorization: Bearer a24_…`` (or PagerDuty's ``Authorization: Token token=a24_…``):
  an organization's API key. The key is found by its hash through the SECURITY DEFINER
  function ``authenticate_api_key()`` — the request is nobody's member, so that is the
  only way to learn its organization — and then the rest of the request's transaction is
  switched to that organization with ``SET LOCAL`` (:func:`enter_organization`). The
  tenancy middleware opened that transaction as the app role with no organization and
  restores its own settings when the request ends, so nothing leaks to the next request.
* The browser session, for the signed-in UI: the middleware already scoped the
  transaction to the session's active organization; CSRF is enforced as usual.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.api.keys import hash_api_key, looks_like_api_key


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """``request.user`` for API-key requests: the key, not a person.

    Actions it takes are recorded without a user (the timeline names the key instead); a
    person can be named with PagerDuty's ``From: e-mail`` header (see ``acting_user``).
    """

    key_id: uuid.UUID
    organization_id: uuid.UUID
    scope: str
    created_by_id: uuid.UUID | None

    is_authenticated = True
    is_anonymous = False
    is_active = True
    pk = None

    @property
    def can_write(self) -> bool:
        return self.scope == "write"

    def __str__(self) -> str:
        return f"API key {self.key_id}"


def enter_organization(organization_id: uuid.UUID | str, user_id: uuid.UUID | str | None) -> None:
    """Make the rest of the current transaction act for one organization, as the app role.

    Unlike ``organization_scope`` this restores nothing: it is for a request whose
    organization becomes known only inside the view, within the middleware's transaction
    (which restores the previous settings when it ends). One round trip: ``role`` is the
    setting ``SET ROLE`` changes.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true),"
            " set_config('app.current_organization_id', %s, true),"
            " set_config('app.current_user_id', %s, true)",
            [settings.DATABASE_APP_ROLE, str(organization_id), str(user_id or "")],
        )


def _key_from_header(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    kind, _, value = header.partition(" ")
    kind, value = kind.lower(), value.strip()
    if kind == "bearer":
        return value
    if kind == "token":  # PagerDuty REST style: "Token token=…"
        return value.removeprefix("token=")
    return None


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <key>`` and scopes the transaction to its org."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKeyPrincipal] | None:
        key = _key_from_header(request)
        if key is None:
            return None
        if not looks_like_api_key(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT key_id, organization_id, scope, revoked, created_by"
                " FROM authenticate_api_key(%s)",
                [hash_api_key(key)],
            )
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        key_id, organization_id, scope, revoked, created_by = row
        if revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        enter_organization(organization_id, None)
        principal = ApiKeyPrincipal(key_id, organization_id, scope, created_by)
        return principal, principal

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def request_organization_id(request: Request) -> uuid.UUID | None:
    """The organization this API request acts for (the key's, or the session's active one)."""
    if isinstance(request.auth, ApiKeyPrincipal):
        return request.auth.organization_id
    organization = getattr(request._request, "organization", None)
    return organization.pk if organization is not None else None


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes API keys in the OpenAPI schema (drf-spectacular picks this up on import)."""

    target_class = "accounts.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "a24_ API key",
            "description": "An organization API key: `Authorization: Bearer a24_…`.",
        }
