"""Retention and rollups at volume: synthetic check results over 35 days.

Prints how long retention (cleanup_old_data) and the statistics refresh take, how fast the
90-day uptime bars of 100 checks are read from the rollups, and what one stored result
costs on disk. Goals (issue 9): uptime query at most 50 ms; at most 100 bytes per result.
The default is a quick 2 million results; ``--results 20000000`` runs the full size.
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import figure, private_django

UPTIME_BARS = """
SELECT s.check_id, (s.bucket_start AT TIME ZONE 'UTC')::date AS day,
       s.total_checks, s.up_checks + s.degraded_checks AS good
FROM monitoring_statistics s
WHERE s.check_id = ANY(%s) AND s.period = 'day'
  AND s.bucket_start >= date_trunc('day', now(), 'UTC') - interval '89 days'
ORDER BY s.check_id, s.bucket_start
"""


def size(cursor, table: str) -> int:
    cursor.execute("SELECT pg_total_relation_size(%s)", [table])
    return cursor.fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=2_000_000)
    parser.add_argument("--checks", type=int, default=100)
    parser.add_argument("--days", type=int, default=35)
    args = parser.parse_args()

    private_django()
    from django.db import connection

    from accounts.models import Organization
    from monitoring.models import MonitoringCheck

    organization = Organization.objects.create(name="Bench", slug="bench")
    checks = [
        MonitoringCheck.objects.create(
            organization=organization,
            name=f"check {n}",
            check_type="tcp",
            config={"host": "127.0.0.1", "port": 80},
            interval_seconds=60,
        )
        for n in range(args.checks)
    ]
    ids = [str(check.pk) for check in checks]
    per_check = args.results // args.checks
    step = args.days * 86400 / per_check

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO check_results (check_id, location_id, checked_at, status,
                                       response_time_ms, reason)
            SELECT c.id, 1, now() - make_interval(secs => g * %s),
                   CASE WHEN random() < 0.002 THEN 2 ELSE 0 END,
                   20 + (random() * 200)::int, NULL
            FROM unnest(%s::uuid[]) AS c(id), generate_series(1, %s) g
            """,
            [step, ids, per_check],
        )
        cursor.execute("ANALYZE check_results")
        load_s = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM check_results")
        rows = cursor.fetchone()[0]
        results_bytes = size(cursor, "check_results")
        print(f"loaded {rows} results in {load_s:.1f} s")

        started = time.perf_counter()
        cursor.execute("SELECT refresh_monitoring_statistics(now() - interval '40 days')")
        refresh_s = time.perf_counter() - started

        timings = []
        for _ in range(20):
            started = time.perf_counter()
            cursor.execute(UPTIME_BARS, [ids])
            bars = cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        uptime_ms = statistics.median(timings)
        cursor.execute("EXPLAIN " + UPTIME_BARS, [ids])
        plan = "\n".join(row[0][:100] for row in cursor.fetchall() if "->" in row[0])

        started = time.perf_counter()
        deleted = 0
        while True:
            cursor.execute(
                "SELECT deleted FROM cleanup_old_data(batch_size => 50000, max_batches => 20)"
                " WHERE table_name = 'check_results'"
            )
            batch = cursor.fetchone()[0]
            deleted += batch
            if batch == 0:
                break
        cleanup_s = time.perf_counter() - started
        cursor.execute("VACUUM check_results")
        after_bytes = size(cursor, "check_results")
        cursor.execute("SELECT count(*) FROM check_results")
        remaining = cursor.fetchone()[0]

    print(f"uptime bars: {len(bars)} day rows; plan:\n{plan}")
    print(f"retention deleted {deleted} results older than 30 days; {remaining} remain")
    figure("results_loaded", str(rows))
    figure("cleanup_s", cleanup_s, "s")
    figure("refresh_statistics_s", refresh_s, "s")
    figure("uptime_query_ms", uptime_ms, "ms")
    figure("bytes_per_result", results_bytes / rows, "bytes")
    figure("check_results_size_before_mb", results_bytes / 2**20, "MiB")
    figure("check_results_size_after_mb", after_bytes / 2**20, "MiB")


if __name__ == "__main__":
    main()
