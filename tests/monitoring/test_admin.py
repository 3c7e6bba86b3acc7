"""Admin: filters, pause/resume and run-now actions, read-only results, under RLS."""

from __future__ import annotations

import pytest

from accounts.models import OrganizationMember
from accounts.roles import Role
from monitoring.engine import record_results
from monitoring.models import CheckResult, MonitoringCheck

from .factories import location, make_check, result


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
        {
            "organization": org_a.pk,
            "name": "Broken",
            "check_type": "keyword",
            "config": '{"url": "https://example.com"}',
            "interval_seconds": 10,
            "timeout_seconds": 5,
            "failure_threshold": 2,
            "recovery_threshold": 1,
            "severity": "high",
            "schedules-TOTAL_FORMS": 0,
            "schedules-INITIAL_FORMS": 0,
        },
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
        {
            "organization": org_a.pk,
            "name": "Homepage",
            "check_type": "keyword",
            "config": '{"url": "https://example.com", "keyword": "Example"}',
            "interval_seconds": 60,
            "timeout_seconds": 5,
            "failure_threshold": 2,
            "recovery_threshold": 1,
            "severity": "high",
            "schedules-TOTAL_FORMS": 1,
            "schedules-INITIAL_FORMS": 0,
            "schedules-0-location": location("eu-west").pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    check = MonitoringCheck.objects.get(name="Homepage")
    (schedule,) = check.schedules.all()
    assert schedule.location.code == "eu-west" and schedule.next_run_at is not None


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
