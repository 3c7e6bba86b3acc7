"""What an API caller may do: a key's scope, or a signed-in member's role.

Reads need a read-only key or the ``view`` permission; writes need a read-write key or,
for a session, the permission the viewset names in ``write_permission`` (``respond`` for
incident actions, ``configure`` for services, policies and schedules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

from accounts.api.authentication import ApiKeyPrincipal
from accounts.roles import Permission


class OrganizationPermission(BasePermission):
    message = "You may not do this in this organization."

    def has_permission(self, request: Request, view: APIView) -> bool:
        safe = request.method in SAFE_METHODS
        if isinstance(request.auth, ApiKeyPrincipal):
            if not safe and not request.auth.can_write:
                self.message = "This API key is read-only."
                return False
            return True
        membership = getattr(request._request, "membership", None)
        if membership is None or not request.user.is_authenticated:
            return False
        write = getattr(view, "write_permission", Permission.CONFIGURE)
        needed = Permission.VIEW if safe else write
        return membership.allows(needed)
