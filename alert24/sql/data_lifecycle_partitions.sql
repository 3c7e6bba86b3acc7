-- Retention, partition-aware: the one path for every table's retention, check results
-- included (monitoring's own daily cleanup job is gone).
--
-- cleanup_old_data() removes what has outlived its retention:
--   * a table partitioned by time (check_results): partitions whose whole range is past
--     retention are dropped (DROP TABLE: instant, no row deletes, no vacuum debt); rows past
--     retention in its default partition are deleted in batches. A day is dropped once all
--     of it is past retention, so a result is kept 30 to 31 days.
--   * a plain table: rows past retention are deleted in bounded batches.
--   * monitoring_statistics: hourly buckets after 90 days, daily ones after 400
--     (cleanup_old_monitoring_statistics); the rollups outlive the raw results on purpose.
-- Each drop waits at most 2 s for its lock (a long report reading check_results is not
-- queued behind); a day that could not be dropped is dropped by the next call.
-- Callable verbatim from psql (SELECT cleanup_old_data();) on any database, also one where
-- some of the tables do not exist yet. Same signature as before, so callers are unchanged.
CREATE OR REPLACE FUNCTION cleanup_old_data(
    check_results_days integer DEFAULT 30,
    notification_history_days integer DEFAULT 90,
    activity_log_days integer DEFAULT 180,
    uptime_days integer DEFAULT 365,
    batch_size integer DEFAULT 10000,
    max_batches integer DEFAULT 20
) RETURNS TABLE (table_name text, deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    target record;
    part record;
    cutoff timestamptz;
    batch bigint;
    rounds integer;
    rows_in_part bigint;
    totals jsonb := '{}';
    expired regclass[] := '{}';
    expired_of text[] := '{}';
    previous_lock_timeout text := current_setting('lock_timeout');
BEGIN
    FOR target IN
        SELECT * FROM (VALUES
            ('check_results', 'checked_at', COALESCE(check_results_days, 30)),
            ('notification_history', 'created_at', COALESCE(notification_history_days, 90)),
            ('user_activity_log', 'created_at', COALESCE(activity_log_days, 180)),
            ('uptime_calculations', 'date', COALESCE(uptime_days, 365))
        ) AS t(name, time_column, days)
    LOOP
        IF to_regclass('public.' || target.name) IS NULL
           OR NOT EXISTS (SELECT 1 FROM information_schema.columns c
                          WHERE c.table_schema = 'public' AND c.table_name = target.name
                            AND c.column_name = target.time_column) THEN
            CONTINUE;
        END IF;
        cutoff := now() - make_interval(days => greatest(target.days, 1));
        totals := totals || jsonb_build_object(target.name, 0);

        -- Whole partitions past retention (upper bound of "FOR VALUES FROM (..) TO (..)"),
        -- dropped at the end: a drop locks the parent until the call commits.
        FOR part IN
            SELECT c.oid::regclass AS rel
            FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass('public.' || target.name)
              AND pg_get_expr(c.relpartbound, c.oid) LIKE 'FOR VALUES FROM (%) TO (%)'
              AND (substring(pg_get_expr(c.relpartbound, c.oid)
                             FROM 'TO \(''([^'']+)''\)'))::timestamptz <= cutoff
            ORDER BY 1
        LOOP
            expired := expired || part.rel;
            expired_of := expired_of || target.name::text;
        END LOOP;

        -- Rows: the default partition of a partitioned table, or the plain table itself.
        FOR part IN
            SELECT c.oid::regclass AS rel
            FROM pg_class c
            WHERE (c.oid = to_regclass('public.' || target.name) AND c.relkind = 'r')
               OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i
                            JOIN pg_class d ON d.oid = i.inhrelid
                            WHERE i.inhparent = to_regclass('public.' || target.name)
                              AND pg_get_expr(d.relpartbound, d.oid) = 'DEFAULT')
        LOOP
            rounds := 0;
            LOOP
                EXECUTE format(
                    'DELETE FROM %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %I < $1 LIMIT %s))',
                    part.rel, part.rel, target.time_column,
                    greatest(COALESCE(batch_size, 10000), 1))
                    USING cutoff;
                GET DIAGNOSTICS batch = ROW_COUNT;
                totals := jsonb_set(totals, ARRAY[target.name::text],
                                    to_jsonb((totals->>target.name)::bigint + batch));
                rounds := rounds + 1;
                EXIT WHEN batch = 0 OR rounds >= greatest(COALESCE(max_batches, 20), 1);
            END LOOP;
        END LOOP;
    END LOOP;

    IF to_regprocedure('cleanup_old_monitoring_statistics(integer, integer)') IS NOT NULL THEN
        totals := totals || jsonb_build_object('monitoring_statistics',
                                               cleanup_old_monitoring_statistics(90, 400));
    END IF;

    FOR i IN 1 .. cardinality(expired) LOOP
        -- Counted before the lock, so the parent is locked only for the drop itself.
        EXECUTE format('SELECT count(*) FROM %s', expired[i]) INTO rows_in_part;
        BEGIN
            PERFORM set_config('lock_timeout', '2s', true);
            EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', expired_of[i]);
            EXECUTE format('DROP TABLE %s', expired[i]);
            totals := jsonb_set(totals, ARRAY[expired_of[i]],
                                to_jsonb((totals->>expired_of[i])::bigint + rows_in_part));
        EXCEPTION WHEN lock_not_available THEN
            RAISE NOTICE 'cleanup_old_data: % is busy; % is dropped next time',
                expired_of[i], expired[i];
        END;
        PERFORM set_config('lock_timeout', previous_lock_timeout, true);
    END LOOP;

    RETURN QUERY SELECT t.key, t.value::bigint FROM jsonb_each_text(totals) AS t;
END
$$;
-- reverse
