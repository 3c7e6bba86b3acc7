"""Row-level security: one organization never sees another's checks, results or alerts."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connection, transaction
from django.utils.timezone import now

from alert24.tenancy import organization_scope
from monitoring.engine import record_results
from monitoring.models import (
    CheckResult,
    CheckSchedule,
    MonitoringAlert,
    MonitoringCheck,
    MonitoringStatistic,
)

from .factories import location, make_check, result


@pytest.fixture
def two_checks(org_a, org_b):
    a = make_check(org_a, "A site", failure_threshold=1)
    b = make_check(org_b, "B site", failure_threshold=1)
    east = location("us-east").pk
    record_results([(a.pk, east, result("down")), (b.pk, east, result("down"))])
    return a, b


@pytest.mark.parametrize(
    "model", [MonitoringCheck, CheckResult, CheckSchedule, MonitoringAlert, MonitoringStatistic]
)
def test_each_organization_sees_only_its_own_rows(two_checks, org_a, model):
    a, _b = two_checks
    with organization_scope(org_a.pk):
        rows = list(model.objects.all())
        assert rows
        for row in rows:
            if model is MonitoringCheck:
                assert row.pk == a.pk
            elif model is CheckResult:
                assert row.monitor_id == a.series_id  # results name the check by series
            else:
                assert row.monitor_id == a.pk
    assert model.objects.count() == 2 * len(rows)  # the owner (system path) sees both


def test_nothing_is_visible_without_an_organization(two_checks):
    with organization_scope(None):
        for model in (MonitoringCheck, CheckResult, CheckSchedule, MonitoringAlert):
            assert not model.objects.exists()


def test_results_cannot_be_planted_on_another_organizations_check(two_checks, org_a):
    _a, b = two_checks
    with (
        organization_scope(org_a.pk),
        pytest.raises(ProgrammingError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO check_results (series_id, checked_at, status) VALUES (%s, now(), 0)",
            [b.series_id],
        )


def test_a_partition_read_directly_is_isolated_too(two_checks, org_a):
    a, _b = two_checks
    with organization_scope(org_a.pk), connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM check_results")
        (partition,) = {row[0] for row in cursor.fetchall()}
        assert partition.startswith("check_results_p")  # today's daily partition
        cursor.execute(f"SELECT series_id FROM {partition}")
        assert cursor.fetchall() == [(a.series_id,)]


def test_recording_in_a_scope_ignores_other_organizations_checks(two_checks, org_a):
    """record_check_results under RLS (the heartbeat path) cannot touch B's check."""
    a, b = two_checks
    before = CheckResult.objects.filter(monitor=b).count()
    with organization_scope(org_a.pk):
        outcomes = record_results(
            [(a.pk, None, result("up")), (b.pk, None, result("up"))]  # B's is invisible
        )
    assert [o.check_id for o in outcomes] == [a.pk]
    assert CheckResult.objects.filter(monitor=b).count() == before
    b.refresh_from_db()
    assert b.state == "down"


def test_alert_rows_of_b_cannot_be_resolved_from_a(two_checks, org_a):
    with organization_scope(org_a.pk):
        assert MonitoringAlert.objects.update(status="resolved", resolved_at=now()) == 1
    assert MonitoringAlert.objects.filter(status="open").count() == 1
