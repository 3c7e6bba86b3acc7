"""Adding, re-roling and removing organization members: only admins may, and every
organization keeps at least one admin. Each change is atomic and logged."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.activity import record_activity
from accounts.models import Organization, OrganizationMember, User
from accounts.roles import Permission, Role


def _require_admin(actor: User, organization: Organization) -> None:
    if actor.is_superuser:
        return
    membership = OrganizationMember.objects.filter(organization=organization, user=actor).first()
    if membership is None or not membership.allows(Permission.MANAGE_MEMBERS):
        raise PermissionDenied("Only admins of this organization can manage its members.")


def add_member(
    actor: User,
    organization: Organization,
    user: User,
    role: str = Role.RESPONDER,
    request: HttpRequest | None = None,
) -> OrganizationMember:
    _require_admin(actor, organization)
    membership = OrganizationMember(
        organization=organization, user=user, role=role, invited_by=actor
    )
    membership.full_clean()
    with transaction.atomic():
        membership.save()
        record_activity(
            organization,
            "member_added",
            user=actor,
            obj=membership,
            description=f"{user.email} joined as {role}",
            metadata={"member": str(user.pk), "role": role},
            request=request,
        )
    return membership


def _ensure_another_admin(membership: OrganizationMember) -> None:
    others = OrganizationMember.objects.filter(
        organization_id=membership.organization_id, role=Role.ADMIN
    ).exclude(pk=membership.pk)
    if membership.role == Role.ADMIN and not others.exists():
        raise ValidationError({"role": "An organization must keep at least one admin."})


def change_role(
    actor: User, membership: OrganizationMember, role: str, request: HttpRequest | None = None
) -> OrganizationMember:
    _require_admin(actor, membership.organization)
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; use one of {Role.values}."})
    with transaction.atomic():
        membership = OrganizationMember.objects.select_for_update().get(pk=membership.pk)
        if role != Role.ADMIN:
            _ensure_another_admin(membership)
        previous, membership.role = membership.role, role
        membership.save(update_fields=["role", "updated_at"])
        record_activity(
            membership.organization,
            "member_role_changed",
            user=actor,
            obj=membership,
            description=f"{membership.user.email}: {previous} → {role}",
            metadata={"member": str(membership.user_id), "from": previous, "to": role},
            request=request,
        )
    return membership


def remove_member(
    actor: User, membership: OrganizationMember, request: HttpRequest | None = None
) -> None:
    _require_admin(actor, membership.organization)
    with transaction.atomic():
        membership = OrganizationMember.objects.select_for_update().get(pk=membership.pk)
        _ensure_another_admin(membership)
        record_activity(
            membership.organization,
            "member_removed",
            user=actor,
            obj=membership,
            description=f"{membership.user.email} removed",
            metadata={"member": str(membership.user_id), "role": membership.role},
            request=request,
        )
        membership.delete()
