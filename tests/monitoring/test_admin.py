"""Admin: filters, pause/resume and run-now actions, read-only results, and organization
and role scoping (a manager of one organization sees and edits only its monitors)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.models import OrganizationMember, UserActivityLog
from accounts.roles import Role
from monitoring.engine import record_results
from monitoring.models import CheckResult, MonitoringAlert, MonitoringCheck
from tests.incidents.factories import service

from .factories import check_form, location, make_check, result


@pytest.fixture
def admin_client(client, make_user, org_a):
    user = make_user("root@example.com", is_staff=True, is_superuser=True)
    OrganizationMember.objects.create(organization=org_a, user=user, role=Role.ADMIN)
    client.force_login(user)
    return client


URL = "/admin/monitoring/monitoringcheck/"


def test_changelist_with_filters(admin_client, org_a, org_b):
    make_check(org_a, "Ours")
    make_check(org_b, "Theirs")
    response = admin_client.get(
        URL,
        {"check_type": "http", "state": "pending", "locations__id__exact": location("us-east").pk},
    )
    assert response.status_code == 200
    assert b"Ours" in response.content and b"Theirs" not in response.content  # RLS


def test_pause_and_resume_actions(admin_client, org_a):
    check = make_check(org_a)
    admin_client.post(URL, {"action": "pause", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert check.is_paused and check.state == "paused"
    admin_client.post(URL, {"action": "resume", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert not check.is_paused and check.state == "pending"


def test_run_now_action(admin_client, org_a, http_servers, settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    check = make_check(org_a, config={"url": f"{http_servers.base}/ok"})
    admin_client.post(URL, {"action": "run_now", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert check.state == "up"
    assert CheckResult.objects.get(monitor=check).location == location("us-east")


def test_change_page_shows_the_heartbeat_url(admin_client, org_a):
    beat = make_check(org_a, "Cron", check_type="heartbeat", config={"period_s": 300}, locations=())
    response = admin_client.get(f"{URL}{beat.pk}/change/")
    assert response.status_code == 200
    assert f"/hb/{beat.heartbeat_token}".encode() in response.content


def test_add_form_reports_config_errors_by_field(admin_client, org_a):
    response = admin_client.post(
        f"{URL}add/",
        check_form(
            organization=org_a.pk,
            name="Broken",
            config='{"url": "https://example.com"}',
            interval_seconds=10,
        ),
    )
    assert response.status_code == 200  # the form again, with errors
    errors = response.context["adminform"].form.errors
    assert "interval_seconds" in errors
    assert not MonitoringCheck.objects.filter(name="Broken").exists()


def test_results_are_listed_read_only_on_their_checks_page(admin_client, org_a):
    check = make_check(org_a)
    other = make_check(org_a, "Other")
    east = location("us-east").pk
    record_results(
        [
            (check.pk, east, result("down", "HTTP 503 <b>from</b> 203.0.113.9")),
            (other.pk, east, result("down", "other check's failure")),
        ]
    )
    page = admin_client.get(f"{URL}{check.pk}/change/").content.decode()
    assert "HTTP 503 &lt;b&gt;from&lt;/b&gt; 203.0.113.9" in page  # escaped
    assert "other check's failure" not in page
    # Results have no admin pages of their own (composite key): nothing to add or change.
    assert admin_client.get("/admin/monitoring/checkresult/").status_code == 404


def test_add_form_creates_the_check_and_its_schedule(admin_client, org_a):
    response = admin_client.post(
        f"{URL}add/",
        check_form(
            organization=org_a.pk,
            **{"schedules-TOTAL_FORMS": 1, "schedules-0-location": location("eu-west").pk},
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    check = MonitoringCheck.objects.get(name="Homepage")
    (schedule,) = check.schedules.all()
    assert schedule.location.code == "eu-west" and schedule.next_run_at is not None


# --- Organization and role: managers of one organization, not superusers ------------------


def scoped_request(user, organization):
    """An admin request as the middleware builds it, but run as the schema owner (no RLS):
    whatever it hides from another organization, the ORM filter hid."""
    request = RequestFactory().get(URL)
    request.user = user
    request.membership = OrganizationMember.objects.get(user=user, organization=organization)
    request.organization = organization
    return request


def test_manager_lists_and_edits_only_own_checks(client, sign_in, org_a, org_b):
    sign_in(org_a, Role.MANAGER)
    ours, theirs = make_check(org_a, "Ours"), make_check(org_b, "Theirs")
    page = client.get(URL)
    assert page.status_code == 200
    assert b"Ours" in page.content and b"Theirs" not in page.content
    assert client.get(f"{URL}{ours.pk}/change/").status_code == 200
    response = client.post(f"{URL}{ours.pk}/change/", check_form(name="Ours renamed"))
    assert response.status_code == 302
    ours.refresh_from_db()
    assert ours.name == "Ours renamed" and ours.organization_id == org_a.pk
    # The other organization's check does not exist for this manager, read or written.
    for response in (
        client.get(f"{URL}{theirs.pk}/change/", follow=True),
        client.post(f"{URL}{theirs.pk}/change/", check_form(name="Hijacked"), follow=True),
    ):
        assert "exist. Perhaps it was deleted?" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_manager_adds_a_check_to_the_active_organization(client, sign_in, org_a, org_b):
    sign_in(org_a, Role.MANAGER)
    add_page = client.get(f"{URL}add/").content.decode()
    assert 'name="organization"' not in add_page  # never asked for
    response = client.post(f"{URL}add/", check_form(organization=org_b.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert MonitoringCheck.objects.get(name="Homepage").organization_id == org_a.pk


def test_other_organizations_service_cannot_be_picked(client, sign_in, org_a, org_b):
    sign_in(org_a, Role.MANAGER)
    ours = make_check(org_a)
    response = client.post(f"{URL}{ours.pk}/change/", check_form(service=service(org_b).pk))
    assert response.status_code == 200  # the form again
    assert "service" in response.context["adminform"].form.errors
    ours.refresh_from_db()
    assert ours.service_id is None


def test_list_and_choices_are_filtered_by_the_orm_not_only_by_rls(sign_in, org_a, org_b):
    manager = sign_in(org_a, Role.MANAGER)
    make_check(org_a, "Ours")
    make_check(org_b, "Theirs")
    our_service, their_service = service(org_a), service(org_b)
    request = scoped_request(manager, org_a)
    model_admin = admin.site._registry[MonitoringCheck]
    assert [c.name for c in model_admin.get_queryset(request)] == ["Ours"]
    form = model_admin.get_form(request)()
    assert list(form.fields["service"].queryset) == [our_service]
    assert their_service not in form.fields["service"].queryset
    assert "organization" not in form.fields


def test_viewer_reads_but_cannot_edit_or_pause(client, sign_in, org_a):
    viewer = sign_in(org_a, Role.VIEWER, is_staff=True)  # a superuser let them into admin
    check = make_check(org_a, "Ours")
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}add/").status_code == 403
    response = client.post(f"{URL}{check.pk}/change/", check_form(name="Renamed"))
    assert response.status_code == 403
    client.post(URL, {"action": "pause", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert check.name == "Ours" and not check.is_paused
    assert not UserActivityLog.objects.filter(user=viewer).exists()
    # Without is_staff a viewer has no admin at all.
    viewer.is_staff = False
    viewer.save()
    response = client.get(URL)
    assert response.status_code == 302 and b"Ours" not in response.content


def test_pause_action_works_for_a_manager_and_is_logged(client, sign_in, org_a, org_b):
    manager = sign_in(org_a, Role.MANAGER)
    ours, theirs = make_check(org_a, "Ours"), make_check(org_b, "Theirs")
    response = client.post(
        URL, {"action": "pause", "_selected_action": [ours.pk, theirs.pk]}, follow=True
    )
    assert "Paused 1 check(s)." in response.content.decode()
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.is_paused and ours.state == "paused"
    assert not theirs.is_paused  # selected, but not this manager's
    logged = UserActivityLog.objects.get(activity_type="monitor_paused")
    assert (logged.user, logged.organization_id, logged.object_id) == (manager, org_a.pk, ours.pk)
    client.post(URL, {"action": "resume", "_selected_action": [ours.pk]})
    ours.refresh_from_db()
    assert not ours.is_paused and ours.state == "pending"
    assert UserActivityLog.objects.filter(activity_type="monitor_resumed", user=manager).exists()


def test_locations_are_read_only_except_for_superusers(client, sign_in, org_a, make_user):
    sign_in(org_a, Role.ADMIN)
    east = location("us-east")
    locations = "/admin/monitoring/monitoringlocation/"
    assert client.get(locations).status_code == 200
    assert client.get(f"{locations}add/").status_code == 403
    response = client.post(
        f"{locations}{east.pk}/change/", {"code": "us-east", "name": "Moved", "queue": east.queue}
    )
    assert response.status_code == 403
    root = make_user(is_staff=True, is_superuser=True)
    OrganizationMember.objects.create(organization=org_a, user=root, role=Role.ADMIN)
    client.force_login(root)
    assert client.get(f"{locations}add/").status_code == 200


def open_alert(check) -> MonitoringAlert:
    return MonitoringAlert.objects.create(
        organization_id=check.organization_id, monitor=check, failure_reason="HTTP 503"
    )


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_audit_admins_refuse_add_change_and_delete(client, sign_in, org_a, make_user, who):
    user = sign_in(org_a, Role.ADMIN if who == "superuser" else Role.MANAGER)
    if who == "superuser":
        user.is_staff = user.is_superuser = True
        user.save()
    alert = open_alert(make_check(org_a))
    alerts = "/admin/monitoring/monitoringalert/"
    listing = client.get(alerts, {"q": "503"})
    assert listing.status_code == 200 and b"HTTP 503" in listing.content
    assert b"delete_selected" not in listing.content
    assert client.get(f"{alerts}add/").status_code == 403
    assert client.get(f"{alerts}{alert.pk}/delete/").status_code == 403
    assert client.post(f"{alerts}{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        alerts, {"action": "delete_selected", "_selected_action": [alert.pk], "post": "yes"}
    )
    assert MonitoringAlert.objects.filter(pk=alert.pk).exists()
    record_results([(alert.monitor_id, location("us-east").pk, result("up"))])  # rollups
    statistics = "/admin/monitoring/monitoringstatistic/"
    found = client.get(statistics, {"q": "API health"})
    assert found.status_code == 200 and found.context["cl"].result_count == 2  # hour, day
    assert client.get(statistics, {"q": "nothing like it"}).context["cl"].result_count == 0


@pytest.fixture
def member_client(client, make_user, org_a):
    def login(role: str, **fields):
        user = make_user(f"{role}@acme.example", **fields)
        OrganizationMember.objects.create(organization=org_a, user=user, role=role)
        client.force_login(user)
        return client

    return login


def test_a_manager_sees_and_edits_only_own_organizations_checks(member_client, org_a, org_b):
    ours = make_check(org_a, "Ours")
    theirs = make_check(org_b, "Theirs")
    client = member_client(Role.MANAGER)
    page = client.get(URL).content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert client.get(f"{URL}{theirs.pk}/change/").status_code == 302  # "does not exist"
    client.post(URL, {"action": "pause", "_selected_action": [ours.pk, theirs.pk]})
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.is_paused and not theirs.is_paused


def test_a_staff_viewer_reads_checks_but_cannot_pause_or_edit(member_client, org_a):
    check = make_check(org_a, "Ours")
    client = member_client(Role.VIEWER, is_staff=True)
    page = client.get(URL).content.decode()
    assert "Ours" in page and 'value="pause"' not in page
    client.post(URL, {"action": "pause", "_selected_action": [check.pk]})
    check.refresh_from_db()
    assert not check.is_paused
    assert client.post(f"{URL}{check.pk}/change/", {"name": "Renamed"}).status_code == 403
    assert client.get(f"{URL}add/").status_code == 403
