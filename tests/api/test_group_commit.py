"""Events arriving together share one transaction (incidents/group_commit.py).

The writer thread is held up by a table lock taken from another connection, so the test
decides which events queue up behind it and form the next batch.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from accounts.models import Organization
from incidents import events
from incidents.models import Incident, IncidentUpdate, ServiceIntegration
from tests.child_processes import database_url
from tests.incidents.factories import member, policy, service

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def routing():
    organization = Organization.objects.create(name="Acme", slug="acme")
    responder = member(organization, "oncall@example.com")
    svc = service(organization, policy(organization, [[responder]]), name="Checkout")
    return ServiceIntegration.objects.create(organization=organization, service=svc)


@pytest.fixture
def writer(settings):
    """A fresh writer per test, so its thread's connection is this test database's."""
    settings.EVENTS_GROUP_COMMIT = True
    events._group_commits.clear()
    yield
    for writer in events._group_commits.values():
        writer.stop()
    events._group_commits.clear()


def apply_concurrently(calls: list[dict], routing) -> list:
    """Run ``events.apply`` for each call in its own thread while the incidents table is
    locked; release the lock once all but the first wait in the queue."""
    results: list = [None] * len(calls)

    def run(index: int, call: dict) -> None:
        try:
            results[index] = events.apply(routing.integration_key, **call)
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    with psycopg.connect(database_url()) as blocker:
        blocker.execute("LOCK TABLE incidents IN SHARE ROW EXCLUSIVE MODE")
        threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
        threads[0].start()
        time.sleep(0.3)  # the first event is now in the writer, stuck on the lock
        for thread in threads[1:]:
            thread.start()
        queue = events._group_commit().waiting
        deadline = time.monotonic() + 10
        while queue.qsize() < len(calls) - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert queue.qsize() == len(calls) - 1
        blocker.rollback()  # releases the lock
    for thread in threads:
        thread.join(10)
    return results


def transactions_of(incident_ids) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT xmin::text) FROM incidents WHERE id = ANY(%s)",
            [list(incident_ids)],
        )
        return cursor.fetchone()[0]


def test_events_queued_together_commit_together_and_each_gets_its_own_answer(routing, writer):
    calls = [{"dedup_key": f"disk-{n}", "title": f"Disk {n} full"} for n in range(12)]
    calls.append({"dedup_key": "disk-5", "title": "Disk 5 still full"})

    results = apply_concurrently([{"action": "trigger", **call} for call in calls], routing)

    opened = [r for r in results if r.outcome == "opened"]
    assert len(opened) == 12 and all(r.created for r in opened)
    [duplicate] = [r for r in results if r.outcome == "deduplicated"]
    incident = Incident.objects.get(pk=duplicate.incident_id)
    assert incident.dedup_key == "disk-5"
    assert IncidentUpdate.objects.filter(incident=incident, update_type="dedup").count() == 1
    for call, result in zip(calls[:12], results[:12], strict=True):
        assert Incident.objects.get(pk=result.incident_id).title == call["title"]
    # The first event had its own transaction; the twelve queued behind it shared one.
    assert transactions_of(r.incident_id for r in opened) == 2


def test_a_failing_event_fails_alone_and_the_rest_of_its_batch_is_applied(routing, writer):
    calls = [{"action": "trigger", "dedup_key": f"cpu-{n}", "title": f"CPU {n}"} for n in range(6)]
    calls.insert(3, {"action": "trigger", "dedup_key": "blank", "title": "  "})

    results = apply_concurrently(calls, routing)

    assert isinstance(results[3], Exception) and "needs a title" in str(results[3])
    others = results[:3] + results[4:]
    assert all(r.outcome == "opened" for r in others)
    assert Incident.objects.filter(service=routing.service).count() == 6
    assert not Incident.objects.filter(dedup_key="blank").exists()


def test_resolve_and_acknowledge_in_one_batch_act_on_their_own_incidents(routing, writer):
    first = events.apply(routing.integration_key, "trigger", dedup_key="a", title="A")
    second = events.apply(routing.integration_key, "trigger", dedup_key="b", title="B")

    results = apply_concurrently(
        [
            {"action": "trigger", "dedup_key": "c", "title": "C"},
            {"action": "resolve", "dedup_key": "a"},
            {"action": "acknowledge", "dedup_key": "b"},
            {"action": "resolve", "dedup_key": "nothing-open"},
        ],
        routing,
    )

    assert [r.outcome for r in results] == ["opened", "resolved", "acknowledged", "unchanged"]
    assert Incident.objects.get(pk=first.incident_id).status == "resolved"
    assert Incident.objects.get(pk=second.incident_id).status == "acknowledged"


def test_inside_a_transaction_the_event_is_part_of_it(routing, writer):
    from django.db import transaction

    with transaction.atomic():
        events.apply(routing.integration_key, "trigger", dedup_key="x", title="X")
        transaction.set_rollback(True)
    assert not Incident.objects.filter(dedup_key="x").exists()
    assert not events._group_commits  # never started a writer
