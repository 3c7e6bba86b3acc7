"""The escalation engine: levels, repeats, timeouts, snapshots, and concurrent sweeps."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.utils import IntegrityError

from accounts.models import TeamGroup
from incidents import lifecycle
from incidents.models import (
    EscalationPolicy,
    EscalationRule,
    EscalationTarget,
    Incident,
    IncidentEscalation,
    IncidentNotification,
)
from tests.incidents.factories import member, policy, service


def sweep() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_incident_timeouts()")
        cursor.execute("SELECT process_pending_escalations()")
        return cursor.fetchone()[0]


def pages(incident: Incident) -> list[tuple[str, int, int, int]]:
    return [
        (n.user.email, n.cycle, n.escalation_level, n.repetition)
        for n in IncidentNotification.objects.filter(incident=incident)
        .exclude(status="cancelled")
        .select_related("user")
        .order_by("reason", "cycle", "repetition", "escalation_level", "user__email")
    ]


def make_due(incident: Incident) -> None:
    IncidentEscalation.objects.filter(incident=incident).update(
        next_escalation_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )


@pytest.fixture
def people(org_a):
    return member(org_a, "ana@example.com"), member(org_a, "bo@example.com")


def test_levels_escalate_in_order_then_exhaust(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana], [bo]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    assert sweep() == 1
    assert pages(incident) == [("ana@example.com", 0, 0, 0)]
    assert sweep() == 0  # not due yet: level 1 waits its delay
    make_due(incident)
    sweep()
    assert pages(incident)[-1] == ("bo@example.com", 0, 1, 0)
    make_due(incident)
    sweep()
    escalation = IncidentEscalation.objects.get(incident=incident)
    assert escalation.status == "exhausted"
    assert incident.updates.filter(message__contains="exhausted").exists()
    assert len(pages(incident)) == 2


def test_repeat_runs_the_policy_again(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana], [bo]], repeat_count=1))
    incident = lifecycle.open_incident(svc, "Down").incident
    for _ in range(4):
        sweep()
        make_due(incident)
    assert pages(incident) == [
        ("ana@example.com", 0, 0, 0),
        ("bo@example.com", 0, 1, 0),
        ("ana@example.com", 0, 0, 1),
        ("bo@example.com", 0, 1, 1),
    ]


def test_acknowledged_or_resolved_incidents_never_page_again(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana], [bo]], repeat_count=3))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    lifecycle.acknowledge(incident, ana)
    make_due(incident)
    sweep()
    assert IncidentNotification.objects.filter(incident=incident).count() == 1
    assert IncidentEscalation.objects.get(incident=incident).status == "completed"
    # Even a stale due row (e.g. restored from a backup) does not page an acked incident.
    IncidentEscalation.objects.filter(incident=incident).update(status="pending")
    make_due(incident)
    sweep()
    assert IncidentNotification.objects.filter(incident=incident).count() == 1
    lifecycle.resolve(incident, ana)
    make_due(incident)
    sweep()
    assert IncidentNotification.objects.filter(incident=incident).count() == 1


def test_acknowledgement_resolves_queued_pages_into_cancelled(org_a, people):
    ana, _ = people
    svc = service(org_a, policy(org_a, [[ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    lifecycle.acknowledge(incident, ana)
    assert IncidentNotification.objects.get(incident=incident).status == "cancelled"


def test_acknowledgement_timeout_retriggers_and_escalates_afresh(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana], [bo]]), acknowledgement_timeout=60)
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    lifecycle.acknowledge(incident, ana)
    Incident.objects.filter(pk=incident.pk).update(
        acknowledged_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    sweep()
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert incident.updates.filter(message="Re-triggered: acknowledgement timed out").exists()
    assert pages(incident)[-1] == ("ana@example.com", 1, 0, 0)


def test_auto_resolve_timeout(org_a, people):
    svc = service(org_a, policy(org_a, [[people[0]]]), auto_resolve_timeout=3600)
    kept = service(org_a, policy(org_a, [[people[0]]], name="Other"), name="Kept",
                   auto_resolve_timeout=None)  # fmt: skip
    old = lifecycle.open_incident(svc, "Old").incident
    forever = lifecycle.open_incident(kept, "Forever").incident
    Incident.objects.update(triggered_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    sweep()
    old.refresh_from_db()
    forever.refresh_from_db()
    assert old.status == "resolved" and forever.status == "triggered"


def test_snooze_ends_with_a_retrigger(org_a, people):
    ana, _ = people
    svc = service(org_a, policy(org_a, [[ana]]), acknowledgement_timeout=None)
    incident = lifecycle.open_incident(svc, "Noisy").incident
    lifecycle.snooze(incident, ana, dt.timedelta(hours=1))
    assert incident.status == "acknowledged" and incident.snoozed_until
    sweep()
    assert Incident.objects.get(pk=incident.pk).status == "acknowledged"
    Incident.objects.filter(pk=incident.pk).update(
        snoozed_until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    sweep()
    incident.refresh_from_db()
    assert incident.status == "triggered" and incident.snoozed_until is None
    with pytest.raises(ValidationError):
        lifecycle.snooze(incident, ana, dt.timedelta(0))


def test_policy_edits_do_not_change_pages_in_flight(org_a, people):
    ana, bo = people
    escalation_policy = policy(org_a, [[ana], [ana]])
    svc = service(org_a, escalation_policy)
    incident = lifecycle.open_incident(svc, "Down").incident
    # Someone edits the policy while the incident is escalating.
    EscalationTarget.objects.filter(rule__policy=escalation_policy).update(user=bo)
    sweep()
    make_due(incident)
    sweep()
    assert [page[0] for page in pages(incident)] == ["ana@example.com", "ana@example.com"]
    # A new incident uses the edited policy.
    later = lifecycle.open_incident(svc, "Down again").incident
    sweep()
    assert pages(later)[0][0] == "bo@example.com"


def test_empty_level_falls_through_to_the_next(org_a, people):
    ana, _ = people
    empty_team = TeamGroup.objects.create(organization=org_a, name="Nobody")
    svc = service(org_a, policy(org_a, [[empty_team], [ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    assert pages(incident) == [("ana@example.com", 0, 1, 0)]
    assert incident.updates.filter(message__startswith="Level 1 has nobody").exists()


def test_team_target_pages_every_member_once(org_a, people):
    ana = people[0]
    team = TeamGroup.objects.create(organization=org_a, name="SRE")
    for person in people:
        team.memberships.create(organization=org_a, user=person)
    svc = service(org_a, policy(org_a, [[team, ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    assert sorted(page[0] for page in pages(incident)) == ["ana@example.com", "bo@example.com"]


def test_handoff_to_another_policy_and_loops_refused(org_a, people):
    ana, bo = people
    second = policy(org_a, [[bo]], name="Second line")
    first = policy(org_a, [[ana]], name="First line")
    first.handoff_policy = second
    first.save()
    svc = service(org_a, first)
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    make_due(incident)
    sweep()
    assert [page[0] for page in pages(incident)] == ["ana@example.com", "bo@example.com"]

    second.handoff_policy = first
    with pytest.raises(ValidationError) as error:
        second.full_clean()
    assert "handoff_policy" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationPolicy.objects.filter(pk=first.pk).update(handoff_policy=first)


def test_rule_validation(org_a):
    escalation_policy = EscalationPolicy.objects.create(organization=org_a, name="P")
    rule = EscalationRule(organization=org_a, policy=escalation_policy, position=0, delay_minutes=0)
    with pytest.raises(ValidationError) as error:
        rule.full_clean()
    assert "delay_minutes" in error.value.message_dict
    target = EscalationTarget(organization=org_a, rule=rule, target_type="user")
    with pytest.raises(ValidationError) as error:
        target.clean()
    assert "user" in error.value.message_dict


def test_reassign_pages_the_new_assignee_and_policy_restarts(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    lifecycle.reassign_to_user(incident, bo, ana)
    assert IncidentNotification.objects.filter(incident=incident, user=bo, reason="assignment")
    other = policy(org_a, [[bo]], name="Other")
    lifecycle.reassign_to_policy(incident, other, ana)
    sweep()
    assert ("bo@example.com", 1, 0, 0) in pages(incident)


def test_escalate_now_skips_the_wait(org_a, people):
    ana, bo = people
    svc = service(org_a, policy(org_a, [[ana], [bo]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    assert lifecycle.escalate_now(incident, ana)
    sweep()
    assert pages(incident)[-1][0] == "bo@example.com"


def test_sweep_survives_odd_snapshots(org_a, people):
    svc = service(org_a, policy(org_a, [[people[0]]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    IncidentEscalation.objects.filter(incident=incident).update(
        policy_snapshot={"rules": [{"targets": [{"type": "schedule", "id": None}]}]}
    )
    sweep()
    assert IncidentEscalation.objects.get(incident=incident).status == "exhausted"
    with connection.cursor() as cursor:
        cursor.execute("SELECT process_pending_escalations(NULL)")
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_page_everyone_exactly_once(org_a):
    people = [member(org_a, f"p{i}@example.com") for i in range(3)]
    svc = service(org_a, policy(org_a, [people]))
    incidents = [lifecycle.open_incident(svc, f"Down {i}").incident for i in range(60)]
    barrier = threading.Barrier(2)
    counts = []

    def run() -> None:
        try:
            barrier.wait()
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT process_pending_escalations(40)")
                counts.append(cursor.fetchone()[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sweep()  # whatever neither claimed
    assert sum(counts) <= 60
    assert IncidentNotification.objects.count() == 60 * 3
    for incident in incidents:
        assert sorted(p[0] for p in pages(incident)) == [p.email for p in people]


def test_unreachable_people_are_flagged_and_the_level_falls_through(org_a, people):
    ana, _ = people
    nobody = member(org_a, "no-contact@example.com", reachable=False)
    svc = service(org_a, policy(org_a, [[nobody], [ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    sweep()
    assert pages(incident) == [("ana@example.com", 0, 1, 0)]
    assert incident.updates.filter(message="Cannot page no-contact: no contact method").exists()
