"""Bad input on monitors: field-named errors from clean(), and the database's own CHECKs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from monitoring.models import MonitoringCheck
from tests.incidents.factories import service as make_service

from .factories import make_check, result


def errors_of(org, **fields) -> dict[str, list[str]]:
    fields.setdefault("name", "Check")
    fields.setdefault("check_type", "http")
    fields.setdefault("config", {"url": "https://example.com/"})
    check = MonitoringCheck(organization=org, **fields)
    with pytest.raises(ValidationError) as info:
        check.full_clean()
    return info.value.message_dict


def test_a_valid_check_passes(org_a):
    check = MonitoringCheck(
        organization=org_a, name="Site", check_type="http", config={"url": "https://example.com"}
    )
    check.full_clean()


def test_interval_below_minimum_names_the_field(org_a):
    errors = errors_of(org_a, interval_seconds=10, timeout_seconds=5)
    assert "interval_seconds" in errors
    assert "30" in " ".join(errors["interval_seconds"])


def test_interval_above_maximum(org_a):
    assert "interval_seconds" in errors_of(org_a, interval_seconds=7200)


def test_malformed_url(org_a):
    errors = errors_of(org_a, config={"url": "http//nope"})
    assert any(message.startswith("url:") for message in errors["config"])


def test_keyword_check_without_keyword(org_a):
    errors = errors_of(org_a, check_type="keyword", config={"url": "https://example.com"})
    assert "keyword: This field is required." in errors["config"]


def test_dns_record_type_that_does_not_exist(org_a):
    errors = errors_of(org_a, check_type="dns", config={"name": "example.com", "record_type": "AX"})
    assert any(message.startswith("record_type:") for message in errors["config"])


def test_timeout_longer_than_interval(org_a):
    errors = errors_of(org_a, interval_seconds=30, timeout_seconds=45)
    assert "timeout_seconds" in errors


def test_interval_belongs_in_its_column_not_in_the_config(org_a):
    errors = errors_of(org_a, config={"url": "https://example.com", "interval_s": 60})
    assert any("interval seconds" in message for message in errors["config"])


def test_unknown_check_type(org_a):
    assert "check_type" in errors_of(org_a, check_type="smtp")


def test_unknown_config_key(org_a):
    errors = errors_of(org_a, config={"url": "https://example.com", "timout_s": 3})
    assert any(message.startswith("timout_s:") for message in errors["config"])


def test_service_of_another_organization(org_a, org_b):
    other = make_service(org_b, name="Theirs")
    assert "service" in errors_of(org_a, service=other)


def test_heartbeat_needs_a_period(org_a):
    errors = errors_of(org_a, check_type="heartbeat", config={})
    assert any(message.startswith("period_s:") for message in errors["config"])


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("interval_seconds", 5),
        ("interval_seconds", 4000),
        ("timeout_seconds", 0.1),
        ("failure_threshold", 0),
        ("recovery_threshold", 11),
        ("check_type", "smtp"),
        ("state", "sideways"),
        ("severity", "apocalyptic"),
    ],
)
def test_database_refuses_what_clean_refuses(org_a, column, value):
    check = make_check(org_a)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE monitoring_checks SET {column} = %s WHERE id = %s",
            [value, check.pk],
        )


def test_raw_sql_insert_gets_database_defaults(org_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_checks (organization_id, name, check_type, config)"
            " VALUES (%s, 'raw', 'heartbeat', '{\"period_s\": 60}')"
            " RETURNING id, state, interval_seconds, failure_threshold, heartbeat_token",
            [org_a.pk],
        )
        _id, state, interval, threshold, token = cursor.fetchone()
    assert (state, interval, threshold) == ("pending", 60, 2)
    assert len(token) == 32


def test_saving_a_form_does_not_overwrite_the_state_workers_wrote(org_a):
    from monitoring.engine import record_results

    check = make_check(org_a, failure_threshold=1)
    stale = MonitoringCheck.objects.get(pk=check.pk)  # as loaded by an admin form
    record_results([(check.pk, None, result("down"))])
    stale.name = "Renamed"
    stale.save()
    check.refresh_from_db()
    assert (check.name, check.state, check.consecutive_failures) == ("Renamed", "down", 1)


def test_a_thousand_new_checks_are_spread_over_the_interval(org_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_checks (organization_id, name, check_type, config)"
            " SELECT %s, 'c' || g, 'http', '{\"url\": \"https://example.com\"}'"
            " FROM generate_series(1, 1000) g",
            [org_a.pk],
        )
        cursor.execute(
            "INSERT INTO check_schedules (check_id, location_id)"
            " SELECT c.id, l.id FROM monitoring_checks c, monitoring_locations l"
            " WHERE l.code = 'us-east'"
        )
        cursor.execute(
            "SELECT extract(epoch FROM max(next_run_at) - min(next_run_at)),"
            " max(n) FROM check_schedules,"
            " (SELECT count(*) AS n FROM check_schedules"
            "  GROUP BY date_trunc('second', next_run_at)) per_second"
        )
        spread_s, busiest_second = cursor.fetchone()
    assert spread_s > 55
    assert busiest_second <= 45  # ~17 per second on average; never all at once
