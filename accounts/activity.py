"""The activity log: one call records who did what, to which object, from where.

Writers: the responder views and services (named activities such as
``incident_note_added``), database triggers (incident creation and status changes), and two
catch-alls so that no write goes unrecorded: every Django admin add/change/delete/action
(``admin.*``, :class:`accounts.admin.ActivityLoggedAdminMixin`) and every REST API write
(``api.*``, :class:`accounts.api.views.OrganizationViewSetMixin`). Descriptions never carry
secrets (API key material, signing secrets, passwords, TOTP seeds).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import models
from django.http import HttpRequest

from accounts.models import Organization, User, UserActivityLog

_URL = re.compile(
    r"\b(?P<origin>[a-z][a-z0-9+.-]*://)(?:[^/@\s]*@)?(?P<host>[^/?#\s\"'”<>]+)"
    r"(?P<rest>[^\s\"'”<>]*)",
    re.IGNORECASE,
)


def _origin_only(match: re.Match) -> str:
    origin = match["origin"] + match["host"]
    return f"{origin}/…" if match["rest"] not in ("", "/") else origin


def without_url_secrets(text: str) -> str:
    """``text`` with every URL cut to its scheme and host ("https://hooks.slack.com/…").

    Names of objects go into the log (a webhook endpoint without a description is its
    URL); receiver URLs often carry a token in their path or query, and the log is read by
    more people than the object is (managers, where endpoints are admins' business).
    """
    return _URL.sub(_origin_only, text)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record_activity(
    organization: Organization | uuid.UUID,
    activity_type: str,
    *,
    user: User | None = None,
    obj: models.Model | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> UserActivityLog:
    # An API key is "authenticated" but is not a person: only a real user is taken from the
    # request (the API passes the member it acts for, if any, explicitly).
    if user is None and request is not None and isinstance(getattr(request, "user", None), User):
        user = request.user if request.user.is_authenticated else None
    return UserActivityLog.objects.create(
        organization_id=getattr(organization, "pk", organization),
        user=user,
        activity_type=activity_type,
        object_type=obj._meta.db_table if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        description=description,
        metadata=metadata or {},
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:500],
    )
