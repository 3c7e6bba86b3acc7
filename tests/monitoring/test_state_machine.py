"""The confirmation state machine in record_check_results: alerts, incidents, recovery."""

from __future__ import annotations

import pytest
from django.db import connection

from incidents.models import Incident, IncidentUpdate
from monitoring.engine import record_results
from monitoring.models import CheckResult, MonitoringAlert, MonitoringCheck
from tests.incidents.factories import service as make_service

from .factories import location, make_check, result


@pytest.fixture
def api(org_a):
    return make_service(org_a, name="Public API")


def feed(check, status, code="us-east", **kwargs):
    loc = location(code).pk if code else None
    (outcome,) = record_results([(check.pk, loc, result(status, **kwargs))])
    check.refresh_from_db()
    return outcome


def test_first_failure_is_unconfirmed_then_confirmed_opens_one_incident(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=2)
    assert check.state == "pending"
    assert feed(check, "up").state == "up"

    first = feed(check, "down", reason="HTTP 500")
    assert (first.state, first.previous_state) == ("unconfirmed_down", "up")
    assert first.recheck_location_id is None  # only one location: wait for the schedule
    assert not MonitoringAlert.objects.exists()

    second = feed(check, "down", reason="HTTP 500")
    assert second.state == "down" and second.alert_id and second.incident_id
    incident = Incident.objects.get()
    assert incident.pk == second.incident_id
    assert incident.source == "monitoring"
    assert incident.dedup_key == f"monitoring:{check.pk}"
    assert incident.service == api
    assert incident.title == "API health is down"
    assert incident.description == "HTTP 500"
    alert = MonitoringAlert.objects.get()
    assert (alert.status, alert.incident_id, alert.confirmed_locations) == (
        "open",
        incident.pk,
        ["us-east"],
    )

    third = feed(check, "down")
    assert third.state == "down" and third.alert_id is None and third.incident_id is None
    assert Incident.objects.count() == 1 and MonitoringAlert.objects.count() == 1


def test_recovery_resolves_alert_and_incident_with_timeline_reason(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=1, recovery_threshold=2)
    feed(check, "down")
    incident = Incident.objects.get()
    assert feed(check, "up").state == "down"  # one success of two
    incident.refresh_from_db()
    assert incident.status == "triggered"

    assert feed(check, "degraded").state == "degraded"  # degraded counts as success
    incident.refresh_from_db()
    assert incident.status == "resolved"
    alert = MonitoringAlert.objects.get()
    assert alert.status == "resolved" and alert.resolved_at is not None
    update = IncidentUpdate.objects.get(incident=incident, update_type="status_change")
    assert update.message == "Resolved: monitor recovered"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.status_change_reason', true)")
        assert cursor.fetchone()[0] in ("", None)  # restored afterwards

    # The next outage opens a new incident (the old one is resolved).
    feed(check, "down")
    assert Incident.objects.filter(status="triggered").count() == 1
    assert Incident.objects.count() == 2


def test_failure_while_recovering_stays_down(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=2, recovery_threshold=2)
    feed(check, "down")
    feed(check, "down")
    feed(check, "up")
    assert feed(check, "down").state == "down"
    assert MonitoringAlert.objects.filter(status="open").count() == 1


def test_unconfirmed_failure_that_recovers_opens_nothing(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=2)
    feed(check, "down")
    assert feed(check, "up").state == "up"
    assert feed(check, "down").state == "unconfirmed_down"  # counter was reset
    assert not Incident.objects.exists()


def test_first_failure_asks_for_a_recheck_from_another_location(org_a, api):
    check = make_check(org_a, service=api, locations=("us-east", "eu-west", "ap-south"))
    first = feed(check, "down", code="us-east")
    assert first.recheck_location_id in {location("eu-west").pk, location("ap-south").pk}
    second = feed(check, "down", code="eu-west")
    assert second.state == "down" and second.recheck_location_id is None
    assert second.incident_id is not None
    alert = MonitoringAlert.objects.get()
    assert alert.confirmed_locations == ["eu-west", "us-east"]


def test_require_second_location(org_a, api):
    check = make_check(
        org_a,
        service=api,
        failure_threshold=2,
        require_second_location=True,
        locations=("us-east", "eu-west"),
    )
    feed(check, "down", code="us-east")
    feed(check, "down", code="us-east")
    assert check.state == "unconfirmed_down"  # two failures, one place
    assert feed(check, "down", code="eu-west").state == "down"
    assert Incident.objects.count() == 1


def test_heartbeat_results_have_no_location(org_a, api):
    check = make_check(
        org_a,
        check_type="heartbeat",
        config={"period_s": 60, "grace_s": 0},
        locations=(),
        service=api,
        failure_threshold=1,
    )
    assert feed(check, "down", code=None).state == "down"
    assert CheckResult.objects.get().location_id is None


def test_check_without_service_still_alerts(org_a):
    check = make_check(org_a, failure_threshold=1)
    assert feed(check, "down").alert_id is not None
    alert = MonitoringAlert.objects.get()
    assert alert.incident is None
    assert "no service" in alert.incident_error


def test_disabled_service_keeps_the_alert_and_says_why(org_a, api):
    api.status = "disabled"
    api.save()
    check = make_check(org_a, service=api, failure_threshold=1)
    outcome = feed(check, "down")
    assert outcome.alert_id is not None and outcome.incident_id is None
    assert "disabled" in MonitoringAlert.objects.get().incident_error
    assert CheckResult.objects.count() == 1  # the result was kept


def test_paused_check_records_history_only(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=1)
    MonitoringCheck.objects.filter(pk=check.pk).update(is_paused=True)
    check.refresh_from_db()
    assert check.state == "paused"
    assert feed(check, "down").state == "paused"
    assert not MonitoringAlert.objects.exists()
    MonitoringCheck.objects.filter(pk=check.pk).update(is_paused=False)
    check.refresh_from_db()
    assert check.state == "pending"


def test_maintenance_suppresses_alerts(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=1)
    with connection.cursor() as cursor:
        # What status pages will provide; replaced only inside this test's transaction.
        cursor.execute(
            "CREATE OR REPLACE FUNCTION check_in_maintenance(check_id uuid, at timestamptz)"
            " RETURNS boolean LANGUAGE sql AS $$ SELECT true $$"
        )
    assert feed(check, "down").state == "down"
    assert not MonitoringAlert.objects.exists() and not Incident.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION check_in_maintenance(check_id uuid, at timestamptz)"
            " RETURNS boolean LANGUAGE sql AS $$ SELECT false $$"
        )
    # Still failing after the window: now it alerts.
    assert feed(check, "down").alert_id is not None
    assert Incident.objects.count() == 1


def test_no_maintenance_no_suppression(org_a):
    check = make_check(org_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT check_in_maintenance(%s, now())", [check.pk])
        assert cursor.fetchone()[0] is False


@pytest.fixture
def component(org_a):
    from statuspages.models import Component, StatusPage

    page = StatusPage.objects.create(organization=org_a, name="Acme status", slug="acme")
    return Component.objects.create(organization=org_a, status_page=page, name="API")


def test_confirmed_failure_turns_the_linked_component_red_and_recovery_back(org_a, api, component):
    check = make_check(org_a, service=api, failure_threshold=1)
    component.monitoring_check_id = check.pk
    component.save()
    feed(check, "down")
    component.refresh_from_db()
    assert component.status == "major_outage"
    feed(check, "up")
    component.refresh_from_db()
    assert component.status == "operational"
    changes = list(component.history.values_list("old_status", "new_status"))
    assert ("operational", "major_outage") in changes
    assert ("major_outage", "operational") in changes


def test_maintenance_window_of_the_linked_component_suppresses_alerts(org_a, api, component):
    import datetime as dt

    from django.utils import timezone

    from statuspages.services import schedule_maintenance

    check = make_check(org_a, service=api, failure_threshold=1)
    component.monitoring_check_id = check.pk
    component.save()
    now = timezone.now()
    schedule_maintenance(
        component.status_page,
        name="Database upgrade",
        scheduled_start=now - dt.timedelta(minutes=5),
        scheduled_end=now + dt.timedelta(hours=1),
        components=[component],
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_maintenance_windows()")
    feed(check, "down")
    assert not MonitoringAlert.objects.exists() and not Incident.objects.exists()


def test_bad_results_are_refused_clearly(org_a):
    check = make_check(org_a)
    from django.db import DataError, transaction

    with (
        pytest.raises(DataError, match="status of up, degraded or down"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT * FROM record_check_results(%s::jsonb)",
            [f'[{{"check_id": "{check.pk}", "status": "sideways"}}]'],
        )


def test_results_of_a_deleted_check_are_dropped(org_a):
    check = make_check(org_a)
    check_id = check.pk
    check.delete()
    assert record_results([(check_id, location("us-east").pk, result("down"))]) == []
    assert not CheckResult.objects.exists()


def test_deleting_a_check_deletes_results_and_statistics_in_the_database(org_a):
    check = make_check(org_a)
    feed(check, "up")
    feed(check, "down")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM monitoring_statistics WHERE check_id = %s", [check.pk])
        assert cursor.fetchone()[0] == 2
    check.delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM check_results), "
                       "(SELECT count(*) FROM monitoring_statistics)")  # fmt: skip
        assert cursor.fetchone() == (0, 0)


def test_process_check_result_is_callable_verbatim(org_a, api):
    check = make_check(org_a, service=api, failure_threshold=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT state, previous_state, incident_id IS NOT NULL"
            " FROM process_check_result(%s, NULL, 'down', NULL, 'connection refused', now())",
            [check.pk],
        )
        assert cursor.fetchone() == ("down", "pending", True)
