"""Only admins manage members; an organization always keeps an admin; all is logged."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.membership import add_member, change_role, remove_member
from accounts.models import OrganizationMember, UserActivityLog
from accounts.roles import Permission, Role, role_allows


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, {Permission.VIEW}),
        (Role.RESPONDER, {Permission.VIEW, Permission.RESPOND}),
        (Role.MANAGER, {Permission.VIEW, Permission.RESPOND, Permission.CONFIGURE}),
        (Role.ADMIN, set(Permission)),
    ],
)
def test_role_permissions(role, allowed):
    assert {p for p in Permission if role_allows(role, p)} == allowed


def test_unknown_role_allows_nothing():
    assert not role_allows("owner", Permission.VIEW)


def test_admin_adds_member_and_it_is_logged(org_a, admin_a, make_user):
    newcomer = make_user()
    membership = add_member(admin_a, org_a, newcomer, Role.RESPONDER)
    assert membership.role == Role.RESPONDER
    log = UserActivityLog.objects.get(activity_type="member_added")
    assert log.user == admin_a and log.object_id == membership.pk


@pytest.mark.parametrize("role", [Role.MANAGER, Role.RESPONDER, Role.VIEWER])
def test_non_admins_cannot_add_members(org_a, make_user, role):
    actor = make_user()
    OrganizationMember.objects.create(organization=org_a, user=actor, role=role)
    with pytest.raises(PermissionDenied):
        add_member(actor, org_a, make_user(), Role.ADMIN)
    assert OrganizationMember.objects.filter(organization=org_a).count() == 1


def test_admin_of_another_organization_cannot_add_members(org_a, admin_b, make_user):
    with pytest.raises(PermissionDenied):
        add_member(admin_b, org_a, make_user(), Role.VIEWER)
    assert not UserActivityLog.objects.exists()


def test_duplicate_member_is_refused_and_nothing_logged(org_a, admin_a, make_user):
    user = make_user()
    add_member(admin_a, org_a, user)
    with pytest.raises(ValidationError):
        add_member(admin_a, org_a, user)
    assert UserActivityLog.objects.filter(activity_type="member_added").count() == 1


def test_last_admin_cannot_be_demoted_or_removed(org_a, admin_a):
    membership = OrganizationMember.objects.get(user=admin_a)
    with pytest.raises(ValidationError) as error:
        change_role(admin_a, membership, Role.VIEWER)
    assert "role" in error.value.message_dict
    with pytest.raises(ValidationError):
        remove_member(admin_a, membership)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_role_change_and_removal_with_another_admin(org_a, admin_a, make_user):
    second = add_member(admin_a, org_a, make_user(), Role.ADMIN)
    change_role(admin_a, second, Role.MANAGER)
    second.refresh_from_db()
    assert second.role == Role.MANAGER
    remove_member(admin_a, second)
    assert not OrganizationMember.objects.filter(pk=second.pk).exists()
    assert set(UserActivityLog.objects.values_list("activity_type", flat=True)) == {
        "member_added",
        "member_role_changed",
        "member_removed",
    }


def test_unknown_role_change_is_refused(org_a, admin_a, make_user):
    member = add_member(admin_a, org_a, make_user(), Role.VIEWER)
    with pytest.raises(ValidationError):
        change_role(admin_a, member, "owner")
