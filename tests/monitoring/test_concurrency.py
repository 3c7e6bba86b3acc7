"""Exactly one alert and one incident, with failures arriving at once from many workers."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from incidents.models import Incident
from monitoring.engine import record_results
from monitoring.models import MonitoringAlert
from tests.incidents.factories import service as make_service

from .factories import location, make_check, result

pytestmark = pytest.mark.django_db(transaction=True)

LOCATIONS = ("us-east", "eu-west", "ap-south")


def at_once(functions) -> list:
    """Run each function in its own thread (own database connection), released together."""
    barrier = threading.Barrier(len(functions))
    outcomes: list = [None] * len(functions)
    errors: list = []

    def run(index, function):
        try:
            barrier.wait(10)
            outcomes[index] = function()
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return outcomes


def test_concurrent_failures_from_three_locations_open_one_incident(org_a):
    api = make_service(org_a, name="API")
    check = make_check(org_a, service=api, failure_threshold=1, locations=LOCATIONS)
    ids = {code: location(code).pk for code in LOCATIONS}
    for round_number in range(5):
        outcomes = at_once(
            [
                lambda code=code: record_results([(check.pk, ids[code], result("down"))])
                for code in LOCATIONS
                for _ in range(2)  # two results per location, six writers
            ]
        )
        opened = [o for batch in outcomes for o in batch if o.incident_id]
        assert len(opened) == 1, f"round {round_number}: {opened}"
        assert MonitoringAlert.objects.filter(status="open").count() == 1
        assert Incident.objects.filter(status="triggered").count() == 1
        # Recover concurrently too: one resolution, no error.
        at_once([lambda code=code: record_results([(check.pk, ids[code], result("up"))])
                 for code in LOCATIONS])  # fmt: skip
        assert not MonitoringAlert.objects.filter(status="open").exists()
        assert not Incident.objects.exclude(status="resolved").exists()
    assert Incident.objects.count() == 5


def test_batches_over_the_same_checks_in_opposite_order_do_not_deadlock(org_a):
    checks = [make_check(org_a, f"c{n}", failure_threshold=1) for n in range(20)]
    east = location("us-east").pk
    forward = [(c.pk, east, result("down")) for c in checks]
    backward = list(reversed(forward))
    at_once([lambda: record_results(forward), lambda: record_results(backward)] * 2)
    assert MonitoringAlert.objects.filter(status="open").count() == 20
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM check_results")
        # Each result was delivered four times; its key (check, time) stores it once.
        assert cursor.fetchone()[0] == 20
