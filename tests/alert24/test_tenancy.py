"""Row-level security really isolates organizations, below the ORM."""

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from accounts.models import (
    Organization,
    OrganizationMember,
    TeamGroup,
    UserActivityLog,
    UserContactMethod,
)
from alert24.tenancy import organization_scope


@pytest.fixture
def two_orgs(org_a, org_b, admin_a, admin_b):
    TeamGroup.objects.create(organization=org_a, name="A team")
    TeamGroup.objects.create(organization=org_b, name="B team")
    UserActivityLog.objects.create(organization=org_b, activity_type="secret_b")
    return org_a, org_b


def test_bare_queryset_in_a_sees_none_of_b(two_orgs, admin_a):
    org_a, _org_b = two_orgs
    with organization_scope(org_a.pk, admin_a.pk):
        assert list(TeamGroup.objects.values_list("name", flat=True)) == ["A team"]
        assert not UserActivityLog.objects.filter(activity_type="secret_b").exists()
        assert set(Organization.objects.values_list("slug", flat=True)) == {"acme"}
        assert all(m.organization_id == org_a.pk for m in OrganizationMember.objects.all())
    # Outside the scope (the schema owner: the system path) both are visible again.
    assert TeamGroup.objects.count() == 2


def test_rows_of_b_cannot_be_updated_or_deleted_from_a(two_orgs, admin_a):
    org_a, org_b = two_orgs
    with organization_scope(org_a.pk, admin_a.pk):
        assert TeamGroup.objects.filter(organization=org_b).update(name="hijacked") == 0
        with connection.cursor() as cursor:
            cursor.execute("UPDATE team_groups SET name = 'hijacked'")
            assert cursor.rowcount == 1  # only A's own row
            cursor.execute("DELETE FROM user_activity_log WHERE activity_type = 'secret_b'")
            assert cursor.rowcount == 0
    assert TeamGroup.objects.get(organization=org_b).name == "B team"
    assert UserActivityLog.objects.filter(activity_type="secret_b").exists()


def test_rows_for_b_cannot_be_inserted_from_a(two_orgs, admin_a):
    org_a, org_b = two_orgs
    with organization_scope(org_a.pk, admin_a.pk):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            TeamGroup.objects.create(organization=org_b, name="planted")
        # Moving one of A's rows into B is refused as well.
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            TeamGroup.objects.filter(organization=org_a).update(organization=org_b)
    assert not TeamGroup.objects.filter(name="planted").exists()


def test_no_organization_set_sees_nothing(two_orgs):
    with organization_scope(None):
        assert TeamGroup.objects.count() == 0
        assert Organization.objects.count() == 0


def test_scope_restores_the_owner_role_afterwards(two_orgs, admin_a):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
        with organization_scope(two_orgs[0].pk, admin_a.pk):
            cursor.execute("SELECT current_user, current_organization_id()")
            assert cursor.fetchone() == ("alert24_app", two_orgs[0].pk)
        cursor.execute("SELECT current_user, current_organization_id()")
        assert cursor.fetchone() == (owner, None)


def test_contact_methods_of_other_organizations_people_are_hidden(two_orgs, admin_a, admin_b):
    UserContactMethod.objects.create(user=admin_b, method_type="sms", value="+14155550123")
    UserContactMethod.objects.create(user=admin_a, method_type="sms", value="+14155550199")
    with organization_scope(two_orgs[0].pk, admin_a.pk):
        assert list(UserContactMethod.objects.values_list("value", flat=True)) == ["+14155550199"]


def test_every_organization_scoped_table_has_rls_and_a_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                          AND a.attname = 'organization_id' AND NOT a.attisdropped)
            """
        )
        rows = cursor.fetchall()
    assert rows, "expected organization-scoped tables"
    unprotected = [name for name, rls, policies in rows if not rls or policies == 0]
    assert unprotected == []
