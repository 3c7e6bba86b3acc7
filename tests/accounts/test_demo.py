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


def test_demo_services_page_whoever_is_on_call(db):
    from incidents import engine, lifecycle, oncall
    from incidents.models import IncidentNotification, OnCallSchedule, Service

    call_command("load_demo", stdout=StringIO())
    call_command("load_demo", stdout=StringIO())
    assert Service.objects.filter(organization__slug="demo").count() == 2
    primary = OnCallSchedule.objects.get(name="Primary on-call")
    on_call = oncall.on_call_user_id(primary)
    assert on_call is not None
    website = Service.objects.get(name="Website")
    assert website.integrations.get().integration_key
    incident = lifecycle.open_incident(website, "Demo outage").incident
    engine.sweep()
    assert IncidentNotification.objects.get(incident=incident).user_id == on_call
