"""/hb/<token>: anonymous pings through a SECURITY DEFINER lookup, missed beats, RLS."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from alert24.tenancy import organization_scope
from incidents.models import Incident, IncidentUpdate
from monitoring.engine import evaluate_heartbeats
from monitoring.models import CheckResult, MonitoringAlert, MonitoringCheck
from tests.incidents.factories import service as make_service

from .factories import make_check


@pytest.fixture
def beat(org_a):
    return make_check(
        org_a,
        "Nightly backup",
        check_type="heartbeat",
        config={"period_s": 60, "grace_s": 30},
        locations=(),
        interval_seconds=60,
        failure_threshold=2,
        service=make_service(org_a, name="Backups"),
    )


def go_back(check, seconds: int, *columns: str) -> None:
    """Pretend the last ping (and check) happened ``seconds`` ago."""
    sets = ", ".join(f"{c} = now() - make_interval(secs => %s)" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE monitoring_checks SET {sets} WHERE id = %s",
            [seconds] * len(columns) + [check.pk],
        )


def test_ping_records_an_up_result(client, beat):
    response = client.get(f"/hb/{beat.heartbeat_token}")
    assert response.status_code == 200
    assert response.content == b"OK\n"
    beat.refresh_from_db()
    assert beat.last_ping_at is not None and beat.state == "up"
    result = CheckResult.objects.get(monitor=beat)
    assert result.location_id is None and result.status == 0


@pytest.mark.parametrize("method", ["head", "post"])
def test_head_and_post_work_too(client, beat, method):
    assert getattr(client, method)(f"/hb/{beat.heartbeat_token}").status_code == 200


def test_other_methods_are_refused(client, beat):
    assert client.put(f"/hb/{beat.heartbeat_token}").status_code == 405


def test_unknown_token_and_non_heartbeat_checks_are_404(client, org_a):
    assert client.get("/hb/nope").status_code == 404
    http = make_check(org_a, "Site")
    assert client.get(f"/hb/{http.heartbeat_token}").status_code == 404
    assert client.get("/hb/" + "x" * 200).status_code == 404


def test_fail_signal_records_a_failure(client, beat):
    MonitoringCheck.objects.filter(pk=beat.pk).update(failure_threshold=1)
    client.get(f"/hb/{beat.heartbeat_token}")
    response = client.post(f"/hb/{beat.heartbeat_token}/fail")
    assert response.status_code == 200
    beat.refresh_from_db()
    assert beat.state == "down"
    assert "job reported failure" in beat.last_reason
    assert Incident.objects.filter(service=beat.service, source="monitoring").count() == 1


def test_paused_heartbeat_notes_the_ping_only(client, beat):
    MonitoringCheck.objects.filter(pk=beat.pk).update(is_paused=True)
    response = client.get(f"/hb/{beat.heartbeat_token}")
    assert response.content == b"OK (check paused)\n"
    assert not CheckResult.objects.exists()


def test_missed_beat_is_detected_confirmed_and_recovered(client, beat):
    client.get(f"/hb/{beat.heartbeat_token}")
    assert evaluate_heartbeats() == 0  # on time

    go_back(beat, 100, "last_ping_at", "last_checked_at")  # period 60 + grace 30 passed
    assert evaluate_heartbeats() == 1
    beat.refresh_from_db()
    assert beat.state == "unconfirmed_down"
    assert "no ping for" in beat.last_reason
    assert evaluate_heartbeats() == 0  # failing: re-evaluated once per interval

    go_back(beat, 61, "last_checked_at")
    assert evaluate_heartbeats() == 1
    beat.refresh_from_db()
    assert beat.state == "down"
    incident = Incident.objects.get(service=beat.service)
    assert MonitoringAlert.objects.get(monitor=beat).incident == incident

    client.get(f"/hb/{beat.heartbeat_token}")  # the job runs again
    beat.refresh_from_db()
    incident.refresh_from_db()
    assert beat.state == "up" and incident.status == "resolved"
    assert IncidentUpdate.objects.filter(
        incident=incident, message="Resolved: monitor recovered"
    ).exists()


def test_never_pinged_counts_from_creation(beat):
    assert evaluate_heartbeats() == 0
    go_back(beat, 95, "created_at")
    assert evaluate_heartbeats() == 1
    beat.refresh_from_db()
    assert "no ping received" in beat.last_reason


def test_anonymous_request_cannot_see_checks_but_the_token_function_can(beat):
    with organization_scope(None), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM monitoring_checks")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT check_id, organization_id FROM heartbeat_check_for_token(%s)",
            [beat.heartbeat_token],
        )
        assert cursor.fetchone() == (beat.pk, beat.organization_id)


def test_token_function_is_only_granted_to_the_app_role(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_function_privilege(%s, 'heartbeat_check_for_token(text)', 'EXECUTE'),"
            " EXISTS (SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a"
            "         WHERE p.proname = 'heartbeat_check_for_token' AND a.grantee = 0)",
            [settings.DATABASE_APP_ROLE],
        )
        assert cursor.fetchone() == (True, False)


def test_ping_from_another_organizations_session_lands_in_the_owner_organization(
    client, beat, admin_b, org_b
):
    """Logged in as B, pinging A's token: the token decides; B still sees nothing of A."""
    client.force_login(admin_b)
    assert client.get(f"/hb/{beat.heartbeat_token}").status_code == 200
    assert CheckResult.objects.filter(monitor=beat).count() == 1
    with organization_scope(org_b.pk):
        assert not MonitoringCheck.objects.exists()
        assert not CheckResult.objects.exists()
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE monitoring_checks SET last_ping_at = now() WHERE id = %s", [beat.pk]
            )
            assert cursor.rowcount == 0
