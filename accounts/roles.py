"""Incident roles within an organization and what each may do.

The four roles are the seed's (admin, manager, responder, viewer); each includes the
rights of the ones below it, as in PagerDuty's base roles.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    RESPONDER = "responder", "Responder"
    VIEWER = "viewer", "Viewer"


RANK = {Role.VIEWER: 0, Role.RESPONDER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class Permission(models.TextChoices):
    VIEW = "view", "Read incidents, schedules, monitors and status pages"
    RESPOND = "respond", "Acknowledge, resolve, reassign and annotate incidents"
    CONFIGURE = "configure", "Edit services, policies, schedules, monitors and status pages"
    MANAGE_MEMBERS = "manage_members", "Invite members, change roles, organization settings"


MINIMUM_ROLE = {
    Permission.VIEW: Role.VIEWER,
    Permission.RESPOND: Role.RESPONDER,
    Permission.CONFIGURE: Role.MANAGER,
    Permission.MANAGE_MEMBERS: Role.ADMIN,
}


def role_allows(role: str, permission: str) -> bool:
    """Whether ``role`` grants ``permission``; unknown roles grant nothing."""
    try:
        return RANK[Role(role)] >= RANK[MINIMUM_ROLE[Permission(permission)]]
    except ValueError:
        return False
