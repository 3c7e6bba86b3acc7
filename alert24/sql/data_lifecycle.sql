-- Retention: cleanup_old_data() deletes what has outlived its retention, in bounded
-- batches so no call holds locks for long (beat calls it every 10 minutes; a backlog drains
-- over several calls). Rollups are kept: uptime history survives the raw data's deletion.
-- Callable verbatim from psql (SELECT cleanup_old_data();) on any database, also one where
-- some of the tables do not exist yet.
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
    batch bigint;
    total bigint;
    rounds integer;
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
        total := 0;
        rounds := 0;
        LOOP
            EXECUTE format(
                'DELETE FROM %I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %I WHERE %I < now() - make_interval(days => %s) LIMIT %s))',
                target.name, target.name, target.time_column, greatest(target.days, 1),
                greatest(COALESCE(batch_size, 10000), 1));
            GET DIAGNOSTICS batch = ROW_COUNT;
            total := total + batch;
            rounds := rounds + 1;
            EXIT WHEN batch = 0 OR rounds >= greatest(COALESCE(max_batches, 20), 1);
        END LOOP;
        table_name := target.name;
        deleted := total;
        RETURN NEXT;
    END LOOP;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS cleanup_old_data(integer, integer, integer, integer, integer, integer);
