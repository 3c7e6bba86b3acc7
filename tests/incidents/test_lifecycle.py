"""Incident lifecycle: statuses, audit trail, timeline, dedup, merge, the seed's INSERT."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.utils import IntegrityError

from accounts.models import UserActivityLog
from alert24.tenancy import organization_scope
from incidents import lifecycle
from incidents.models import Incident, IncidentUpdate
from tests.incidents.factories import member, policy, service


@pytest.fixture
def responder(org_a):
    return member(org_a, "ana@example.com")


@pytest.fixture
def api(org_a, responder):
    return service(org_a, policy(org_a, [[responder]]))


def test_seed_insert_creates_a_triggered_incident_and_status_changes_are_audited(org_a, admin_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents (organization_id, title, description, created_by)"
            " VALUES ((SELECT id FROM organizations LIMIT 1), 'Test Incident',"
            " 'Testing incident creation', (SELECT id FROM users LIMIT 1)) RETURNING id"
        )
        incident_id = cursor.fetchone()[0]
        cursor.execute("UPDATE incidents SET status = 'acknowledged' WHERE id = %s", [incident_id])
        cursor.execute(
            "SELECT COUNT(*) FROM user_activity_log WHERE activity_type = 'incident_status_changed'"
        )
        assert cursor.fetchone()[0] == 1
    incident = Incident.objects.get(pk=incident_id)
    assert incident.severity == "high" and incident.urgency == "high"
    assert incident.acknowledged_at is not None
    assert list(incident.updates.values_list("update_type", flat=True)) == [
        "triggered",
        "status_change",
    ]


def test_acknowledge_then_resolve(api, responder):
    incident = lifecycle.open_incident(api, "Database down", created_by=responder).incident
    assert lifecycle.acknowledge(incident, responder)
    assert not lifecycle.acknowledge(incident, responder)  # double click: no-op
    assert incident.status == "acknowledged" and incident.acknowledged_by == responder
    assert lifecycle.resolve(incident, responder)
    incident.refresh_from_db()
    assert incident.resolved_at and incident.resolved_by == responder
    logs = UserActivityLog.objects.filter(
        activity_type="incident_status_changed", object_id=incident.pk
    )
    assert [(log.metadata["from"], log.metadata["to"], log.user) for log in logs.reverse()] == [
        ("triggered", "acknowledged", responder),
        ("acknowledged", "resolved", responder),
    ]


def test_resolved_incident_cannot_change_again(api, responder):
    incident = lifecycle.open_incident(api, "Gone").incident
    lifecycle.resolve(incident, responder)
    with pytest.raises(lifecycle.IncidentClosed):
        lifecycle.acknowledge(incident, responder)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE incidents SET status = 'triggered' WHERE id = %s", [incident.pk])
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_dedup_key_folds_events_until_resolved(api, responder):
    first = lifecycle.open_incident(api, "Disk full", dedup_key="disk-1")
    second = lifecycle.open_incident(api, "Disk still full", dedup_key="disk-1")
    assert first.created and not second.created
    assert second.incident.pk == first.incident.pk
    assert first.incident.updates.filter(update_type="dedup").count() == 1
    lifecycle.resolve(first.incident, responder)
    third = lifecycle.open_incident(api, "Disk full again", dedup_key="disk-1")
    assert third.created and third.incident.pk != first.incident.pk


def test_urgency_follows_the_services_rule(org_a, responder):
    by_severity = service(org_a, urgency_rule="severity_based", name="Batch")
    assert lifecycle.open_incident(by_severity, "x", severity="critical").incident.urgency == "high"
    assert lifecycle.open_incident(by_severity, "y", severity="low").incident.urgency == "low"


def test_bad_input_is_refused_with_the_field_named(api):
    with pytest.raises(ValidationError) as error:
        lifecycle.open_incident(api, "x", severity="apocalyptic")
    assert "severity" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        lifecycle.open_incident(api, "   ")
    assert "title" in error.value.message_dict
    assert not Incident.objects.exists()


def test_disabled_service_refuses_incidents(org_a):
    disabled = service(org_a, status="disabled")
    with pytest.raises(ValidationError):
        lifecycle.open_incident(disabled, "x")


def test_merge_resolves_duplicates_into_the_target(api, responder):
    target = lifecycle.open_incident(api, "Checkout errors").incident
    duplicate = lifecycle.open_incident(api, "Payment errors").incident
    assert lifecycle.merge(target, [duplicate], responder) == 1
    duplicate.refresh_from_db()
    assert duplicate.status == "resolved" and duplicate.merged_into == target
    assert target.updates.filter(update_type="merge").exists()
    with pytest.raises(ValidationError):
        lifecycle.merge(target, [target], responder)


def test_notes_and_severity_changes_are_on_the_timeline(api, responder):
    incident = lifecycle.open_incident(api, "Slow").incident
    lifecycle.add_note(incident, responder, "Looking at the DB")
    lifecycle.set_severity(incident, responder, "critical")
    kinds = list(incident.updates.values_list("update_type", "message"))
    assert ("note", "Looking at the DB") in kinds
    assert ("severity_change", "Severity high → critical") in kinds
    with pytest.raises(ValidationError):
        lifecycle.add_note(incident, responder, "  ")


def test_other_organizations_incidents_are_invisible(api, org_a, org_b, admin_b):
    lifecycle.open_incident(api, "A's secret outage")
    with organization_scope(org_b.pk, admin_b.pk):
        assert not Incident.objects.exists()
        assert not IncidentUpdate.objects.exists()
        # B cannot open an incident on A's service: RLS hides the service.
        with (
            pytest.raises(Exception, match="does not exist"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT * FROM open_incident(%s, 'planted')", [api.pk])
    assert Incident.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_events_with_one_dedup_key_open_one_incident(org_a):
    svc = service(org_a)
    barrier = threading.Barrier(4)
    results = []

    def open_one() -> None:
        try:
            barrier.wait()
            results.append(lifecycle.open_incident(svc, "Flapping", dedup_key="k").created)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert Incident.objects.filter(dedup_key="k").count() == 1
