from io import StringIO

from django.core.management import call_command

from accounts.models import Organization, OrganizationMember, User
from accounts.roles import Role


def test_load_demo_is_idempotent_and_prints_the_password_once(db):
    first, second = StringIO(), StringIO()
    call_command("load_demo", stdout=first)
    call_command("load_demo", stdout=second)
    assert "with password" in first.getvalue()
    assert "with password" not in second.getvalue()
    password = first.getvalue().split("with password ")[1].split()[0]
    admin = User.objects.get(email="admin@example.com")
    assert admin.check_password(password)
    organization = Organization.objects.get(slug="demo")
    assert OrganizationMember.objects.get(organization=organization, user=admin).role == Role.ADMIN
    assert OrganizationMember.objects.filter(organization=organization).count() == 4
