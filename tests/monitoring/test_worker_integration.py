"""End to end: dispatcher → Redis → a real location worker → results → incident → recovery.

The target is a real HTTP server on 127.0.0.1 whose answer the test flips between 200 and
500; the worker is a real Celery process on private location queues.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from incidents.models import Incident, IncidentUpdate
from monitoring import engine
from monitoring.models import CheckResult, MonitoringAlert, MonitoringCheck, MonitoringLocation
from tests.incidents.factories import service as make_service

from .factories import make_check
from .location_worker import location_worker, wait_for
from .servers import HOST, LoopThread, start_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class FlipServer:
    """Answers every request with ``code``; the test flips it."""

    def __init__(self) -> None:
        self.code = 200
        self.requests = 0

    async def handle(self, reader, writer) -> None:
        self.requests += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            body = b"healthy" if self.code == 200 else b"broken"
            writer.write(
                f"HTTP/1.1 {self.code} X\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
def flip():
    loop = LoopThread()
    server = FlipServer()
    _srv, port = loop.run(start_server(server.handle))
    server.url = f"http://{HOST}:{port}/health"
    yield server
    loop.stop()


@pytest.fixture
def locations():
    """Two private locations, so a developer's running worker never takes our batches."""
    tag = uuid.uuid4().hex[:8]
    return [
        MonitoringLocation.objects.create(
            code=f"t{tag}-{n}", name=f"Test {n}", queue=f"checks.t{tag}-{n}"
        )
        for n in ("a", "b")
    ]


def run_due_now(check: MonitoringCheck, location: MonitoringLocation) -> None:
    """Make one schedule row due and dispatch it through the real dispatcher."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE check_schedules SET next_run_at = now() WHERE check_id = %s"
            " AND location_id = %s",
            [check.pk, location.pk],
        )
    engine.dispatch_due_checks(heartbeats=False)


def results(check) -> list[tuple[int, int]]:
    return list(
        CheckResult.objects.filter(monitor=check)
        .order_by("checked_at")
        .values_list("location_id", "status")
    )


def state(check) -> str:
    check.refresh_from_db()
    return check.state


def test_flip_to_500_opens_one_incident_and_recovery_resolves_it(org_a, flip, locations):
    a, b = locations
    api = make_service(org_a, name="API")
    single = make_check(
        org_a, "Single", config={"url": flip.url}, locations=(), service=api,
        interval_seconds=60, timeout_seconds=5, failure_threshold=2,
    )  # fmt: skip
    single.locations.add(a)
    with location_worker([a.queue, b.queue]):
        run_due_now(single, a)
        wait_for(lambda: state(single) == "up", what="first up result")

        flip.code = 500
        run_due_now(single, a)
        wait_for(lambda: state(single) == "unconfirmed_down", what="unconfirmed down")
        assert not Incident.objects.exists()
        assert "HTTP 500" in single.last_reason

        run_due_now(single, a)
        wait_for(lambda: state(single) == "down", what="confirmed down")
        incident = Incident.objects.get()
        assert incident.source == "monitoring" and incident.dedup_key == f"monitoring:{single.pk}"

        run_due_now(single, a)  # still failing: the same incident, no second one
        wait_for(lambda: len(results(single)) == 4, what="fourth result")
        assert Incident.objects.count() == 1 and MonitoringAlert.objects.count() == 1

        flip.code = 200
        run_due_now(single, a)
        wait_for(lambda: state(single) == "up", what="recovery")
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert IncidentUpdate.objects.filter(
        incident=incident, update_type="status_change", message="Resolved: monitor recovered"
    ).exists()
    assert [status for _loc, status in results(single)] == [0, 2, 2, 2, 0]


def test_first_failure_is_rechecked_from_the_other_location_at_once(org_a, flip, locations):
    a, b = locations
    api = make_service(org_a, name="API")
    check = make_check(
        org_a, "Two places", config={"url": flip.url}, locations=(), service=api,
        interval_seconds=60, timeout_seconds=5, failure_threshold=2,
    )  # fmt: skip
    check.locations.add(a, b)
    flip.code = 500
    with location_worker([a.queue, b.queue]):
        run_due_now(check, a)  # one scheduled run; the re-check from b is the worker's doing
        wait_for(lambda: state(check) == "down", what="confirmation via re-check")
    # The scheduled run from a, then at once the re-check from b. (b's own schedule may
    # also come due while the test waits on a loaded machine, so later results may follow.)
    assert [loc for loc, _status in results(check)][:2] == [a.pk, b.pk]
    alert = MonitoringAlert.objects.get()
    assert sorted(alert.confirmed_locations) == sorted([a.code, b.code])
    assert Incident.objects.count() == 1


def test_hostile_targets_are_bounded_and_recorded_as_failures(org_a, http_servers, locations):
    a, _b = locations
    base = http_servers.base
    checks = [
        make_check(org_a, "Fifty megabytes", check_type="keyword", locations=(),
                   config={"url": f"{base}/big", "keyword": "never-there"}, timeout_seconds=3),
        make_check(org_a, "Never closes", config={"url": f"{base}/trickle"}, locations=(),
                   timeout_seconds=2),
        make_check(org_a, "Redirects forever", config={"url": f"{base}/redirect-loop"},
                   locations=(), timeout_seconds=3),
        make_check(org_a, "Hangs", config={"url": f"{base}/hang"}, locations=(),
                   timeout_seconds=1),
    ]  # fmt: skip
    for check in checks:
        check.locations.add(a)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE check_schedules SET next_run_at = now() WHERE check_id = %s",
                           [check.pk])  # fmt: skip
    with location_worker([a.queue]):
        engine.dispatch_due_checks(heartbeats=False)
        wait_for(
            lambda: CheckResult.objects.filter(monitor__in=checks).count() == len(checks),
            timeout=30,
            what="all four results",
        )
    reasons = {c.name: (state(c), c.last_reason) for c in checks}
    assert all(s == "unconfirmed_down" for s, _ in reasons.values()), reasons
    assert "not found in first 1 MiB" in reasons["Fifty megabytes"][1]
    assert "too many redirects" in reasons["Redirects forever"][1]
