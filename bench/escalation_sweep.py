"""Escalation sweep throughput: 10,000 open incidents, 1,000 due escalations, one sweep.

Prints ``escalations_per_second`` and whether the claim query uses the due-time index.
Goal (issue 3): at least 2,000 escalations/s on 2 cores.
"""

from __future__ import annotations

import argparse
import time

from common import figure, private_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--users-per-level", type=int, default=2)
    args = parser.parse_args()

    private_django()
    from django.db import connection, transaction

    from accounts.models import Organization, OrganizationMember, User
    from incidents.models import EscalationPolicy, EscalationRule, EscalationTarget, Service

    organization = Organization.objects.create(name="Bench", slug="bench")
    policy = EscalationPolicy.objects.create(organization=organization, name="Bench policy")
    for level in range(3):
        rule = EscalationRule.objects.create(
            organization=organization, policy=policy, position=level, delay_minutes=5
        )
        for n in range(args.users_per_level):
            user = User.objects.create_user(f"l{level}u{n}@example.com", None)
            user.contact_methods.create(method_type="email", value=user.email)
            OrganizationMember.objects.create(organization=organization, user=user)
            EscalationTarget.objects.create(
                organization=organization, rule=rule, target_type="user", user=user
            )
    service = Service.objects.create(
        organization=organization, name="Bench service", escalation_policy=policy
    )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents (organization_id, service_id, title, source)"
            " SELECT %s, %s, 'Bench incident ' || g, 'events'"
            " FROM generate_series(1, %s) g",
            [organization.pk, service.pk, args.incidents],
        )
        # All escalations start due; push all but --due of them into the future.
        cursor.execute(
            "UPDATE incident_escalations SET next_escalation_at = now() + interval '1 hour'"
            " WHERE id NOT IN (SELECT id FROM incident_escalations ORDER BY random() LIMIT %s)",
            [args.due],
        )
        cursor.execute("ANALYZE")
    setup_s = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT * FROM incident_escalations WHERE status = 'pending'"
            " AND next_escalation_at <= now() ORDER BY next_escalation_at LIMIT 1000"
            " FOR UPDATE SKIP LOCKED"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    index_used = "escalations_due_idx" in plan

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT process_pending_escalations(%s)", [args.due])
        processed = cursor.fetchone()[0]
    elapsed = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incident_notifications")
        pages = cursor.fetchone()[0]
    print(f"setup: {args.incidents} incidents in {setup_s:.1f} s; plan:\n{plan}")
    assert processed == args.due, (processed, args.due)
    assert pages == args.due * args.users_per_level, pages
    figure("open_incidents", str(args.incidents))
    figure("escalations_processed", str(processed))
    figure("sweep_ms", elapsed * 1000, "ms")
    figure("escalations_per_second", processed / elapsed, "escalations/s")
    figure("due_index_used", "yes" if index_used else "no")


if __name__ == "__main__":
    main()
