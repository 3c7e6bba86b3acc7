"""Retention and rollups at volume: synthetic check results over 35 days.

Prints how long retention (cleanup_old_data: dropping the daily partitions past 30 days)
and the statistics refresh take, how fast the 90-day uptime bars of 100 checks are read from
the rollups, and what one stored result costs on disk: heap, TOAST and indexes of every
partition of check_results, divided by the rows. Goals (issue 9): uptime query at most
50 ms; at most 100 bytes per result. The default is a quick 2 million results;
``--results 20000000`` runs the full size.

``bytes_per_result`` is what a result costs once the hourly partition job has compacted the
finished days (``monitoring.partitions``), today's partition as written;
``bytes_per_result_as_written`` is before that.

Results are loaded day by day in time order, all checks interleaved, as workers write them
(the order decides how full the index pages get); 0.2 % are failures with a reason.
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
    """Bytes of a table with its indexes and TOAST, summed over its partitions."""
    cursor.execute(
        "SELECT sum(pg_total_relation_size(relid))::bigint FROM pg_partition_tree(%s)", [table]
    )
    return cursor.fetchone()[0]


def breakdown(cursor, table: str) -> dict[str, int]:
    """Bytes of the heap (with TOAST) and of each index, summed over the partitions."""
    cursor.execute(
        """
        SELECT 'heap', sum(pg_table_size(relid))::bigint
        FROM pg_partition_tree(%(table)s) WHERE isleaf
        UNION ALL
        SELECT i.indexrelid::regclass::text,
               (SELECT sum(pg_relation_size(t.relid))::bigint
                FROM pg_partition_tree(i.indexrelid) t WHERE t.isleaf)
        FROM pg_index i WHERE i.indrelid = %(table)s::regclass
        """,
        {"table": table},
    )
    return dict(cursor.fetchall())


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
    from monitoring.partitions import compact_closed_partitions

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
    series = list(MonitoringCheck.objects.filter(pk__in=ids).values_list("series_id", flat=True))
    per_check = args.results // args.checks
    step = args.days * 86400 / per_check
    per_day = -(-per_check // args.days)

    with connection.cursor() as cursor:
        # As beat would have: the days' partitions exist before their results arrive.
        cursor.execute(
            "SELECT create_check_result_partitions(now() - make_interval(days => %s), now())",
            [args.days + 1],
        )
        started = time.perf_counter()
        for day in range(args.days):
            first = day * per_day + 1
            last = min(per_check, first + per_day - 1)
            cursor.execute(
                """
                INSERT INTO check_results (series_id, location_id, checked_at, status,
                                           response_time_ms, reason)
                SELECT r.series, 1, r.at, r.status,
                       CASE WHEN r.status = 0 THEN 20 + (random() * 200)::int END,
                       CASE WHEN r.status = 2 THEN 'HTTP 503 from 203.0.113.9 after 1.2 s' END
                FROM (SELECT c.series, g, now() - make_interval(secs => (%s - g) * %s) AS at,
                             CASE WHEN random() < 0.002 THEN 2 ELSE 0 END AS status
                      FROM generate_series(%s, %s) g, unnest(%s::integer[]) AS c(series)) r
                ORDER BY r.g
                """,
                [per_check, step, first, last, series],
            )
        cursor.execute("ANALYZE check_results")
        load_s = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM check_results")
        rows = cursor.fetchone()[0]
        results_bytes = size(cursor, "check_results")
        cursor.execute("SELECT count(*) FROM pg_partition_tree('check_results') WHERE isleaf")
        partitions = cursor.fetchone()[0]
        print(f"loaded {rows} results in {load_s:.1f} s into {partitions} partitions")
        for part, part_bytes in breakdown(cursor, "check_results").items():
            print(f"  as written, {part}: {part_bytes / rows:.1f} bytes per result")

        # What the hourly partition job does to every finished day (today stays as written).
        started = time.perf_counter()
        compacted = compact_closed_partitions(limit=args.days + 10)
        compact_s = time.perf_counter() - started
        compacted_bytes = size(cursor, "check_results")
        print(f"compacted {len(compacted)} finished days in {compact_s:.1f} s")
        for part, part_bytes in breakdown(cursor, "check_results").items():
            print(f"  compacted, {part}: {part_bytes / rows:.1f} bytes per result")

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
    print(
        f"retention removed {deleted} results (whole days older than 30 days); {remaining} remain"
    )
    figure("results_loaded", str(rows))
    figure("cleanup_s", cleanup_s, "s")
    figure("refresh_statistics_s", refresh_s, "s")
    figure("uptime_query_ms", uptime_ms, "ms")
    figure("bytes_per_result", compacted_bytes / rows, "bytes")
    figure("bytes_per_result_as_written", results_bytes / rows, "bytes")
    figure("compact_finished_days_s", compact_s, "s")
    figure("check_results_size_before_mb", compacted_bytes / 2**20, "MiB")
    figure("check_results_size_after_mb", after_bytes / 2**20, "MiB")


if __name__ == "__main__":
    main()
