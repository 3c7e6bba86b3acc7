import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from alert24.tenancy import organization_scope
from incidents import lifecycle
from tests.incidents.factories import member, policy, service


def test_statistics_count_mtta_mttr_and_stay_within_the_organization(org_a, org_b, admin_b):
    ana = member(org_a, "ana@example.com")
    svc = service(org_a, policy(org_a, [[ana]]))
    first = lifecycle.open_incident(svc, "One", severity="critical").incident
    lifecycle.open_incident(svc, "Two", severity="critical")
    lifecycle.acknowledge(first, ana)
    lifecycle.resolve(first, ana)
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_incident_statistics()")
        cursor.execute("SELECT refresh_incident_statistics()")  # again: idempotent
        cursor.execute(
            "SELECT incidents, acknowledged, resolved, mtta_seconds IS NOT NULL"
            " FROM incident_statistics WHERE severity = 'critical'"
        )
        assert cursor.fetchall() == [(2, 1, 1, True)]
    with organization_scope(org_b.pk, admin_b.pk), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incident_statistics_by_organization")
        assert cursor.fetchone()[0] == 0
    with organization_scope(org_a.pk, ana.pk), connection.cursor() as cursor:
        cursor.execute("SELECT sum(incidents) FROM incident_statistics_by_organization")
        assert cursor.fetchone()[0] == 2
        with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
            cursor.execute("SELECT * FROM incident_statistics")


def test_refresh_on_an_empty_database(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_incident_statistics()")
        cursor.execute("SELECT count(*) FROM incident_statistics")
        assert cursor.fetchone()[0] == 0
