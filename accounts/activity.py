"""The activity log: one call records who did what, to which object, from where."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest

from accounts.models import Organization, User, UserActivityLog


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_activity(
    organization: Organization,
    activity_type: str,
    *,
    user: User | None = None,
    obj: models.Model | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> UserActivityLog:
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    return UserActivityLog.objects.create(
        organization=organization,
        user=user,
        activity_type=activity_type,
        object_type=obj._meta.db_table if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        description=description,
        metadata=metadata or {},
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:500],
    )
