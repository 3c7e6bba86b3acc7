"""Upkeep of the daily ``check_results`` partitions: create ahead, compact closed days.

Dropping old days is retention's (``cleanup_old_data()``); this module keeps the rest cheap.

Why compact: results arrive in time order with every check interleaved, so PostgreSQL's
b-tree on (check, time) splits pages that still hold several checks in half, and a day's
index ends up about 65 % full. Once the day is over nobody writes to it (a late result at
most), so rebuilding its index packed full, ``REINDEX CONCURRENTLY`` (readers and writers
carry on), makes it a third smaller for the rest of its 30 days. A compacted index is
recognised by its ``fillfactor=100`` setting; a rebuild that died half-way leaves an invalid
``*_ccnew`` copy, which the next run drops.
"""

from __future__ import annotations

from django.db import connection

# A day is compacted once it has been over for this long (late results have arrived).
SETTLE = "1 hour"


def create_partitions(days_ahead: int = 7) -> int:
    """Creates the daily partitions from yesterday to ``days_ahead`` days ahead."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT create_check_result_partitions(now() - interval '1 day',"
            " now() + make_interval(days => %s))",
            [days_ahead],
        )
        return cursor.fetchone()[0]


def compact_closed_partitions(limit: int = 3) -> list[str]:
    """Rebuilds, packed, the key index of up to ``limit`` finished days; returns their names.

    Needs autocommit (``REINDEX CONCURRENTLY`` cannot run in a transaction), which is how
    Celery tasks and management commands run.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text
            FROM pg_partition_tree('check_results') t
            JOIN pg_class c ON c.oid = t.relid
            JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE t.isleaf
              AND NOT i.indisvalid
              AND ic.relname LIKE '%%\\_ccnew%%'
            """
        )
        for (broken,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {broken}")
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text
            FROM pg_partition_tree('check_results') t
            JOIN pg_class c ON c.oid = t.relid
            JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indisvalid
            JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE t.isleaf
              AND pg_get_expr(c.relpartbound, c.oid) LIKE 'FOR VALUES FROM (%%) TO (%%)'
              AND (substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \\(''([^'']+)''\\)'))::timestamptz
                  <= now() - %s::interval
              AND NOT COALESCE('fillfactor=100' = ANY (ic.reloptions), false)
            ORDER BY c.relname DESC
            LIMIT %s
            """,
            [SETTLE, limit],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        for index in indexes:
            cursor.execute(f"ALTER INDEX {index} SET (fillfactor = 100)")
            cursor.execute(f"REINDEX INDEX CONCURRENTLY {index}")
    return indexes
