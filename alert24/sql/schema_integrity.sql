-- SELECT * FROM validate_schema_integrity(); one row per check, (check_name, ok, detail).
-- It checks what the seed brief promises: its tables and key columns, functions, triggers,
-- row-level security with policies on every organization-scoped table, an index for every
-- foreign key, and the two materialized views with the unique index CONCURRENTLY needs.
CREATE OR REPLACE FUNCTION validate_schema_integrity()
RETURNS TABLE (check_name text, ok boolean, detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    expected_tables text[] := ARRAY[
        'organizations', 'users', 'organization_members', 'team_groups', 'team_memberships',
        'user_contact_methods', 'user_notification_preferences', 'user_activity_log',
        'notification_history',
        'incidents', 'incident_updates', 'escalation_policies', 'notification_rules',
        'on_call_schedules', 'incident_escalations',
        'monitoring_locations', 'monitoring_checks', 'check_results', 'check_schedules',
        'monitoring_alerts', 'monitoring_statistics',
        'status_pages', 'status_page_components', 'subscribers', 'status_page_incidents',
        'component_status_history', 'uptime_calculations', 'subscriber_notifications',
        'status_page_analytics', 'status_page_maintenance_windows'];
    expected_columns text[] := ARRAY[
        'incidents.organization_id', 'incidents.title', 'incidents.description',
        'incidents.created_by', 'incidents.status', 'incidents.severity',
        'incident_escalations.next_escalation_at', 'user_activity_log.activity_type',
        'notification_history.idempotency_key', 'monitoring_checks.organization_id',
        'check_results.response_time_ms', 'status_page_components.status',
        'users.email', 'organization_members.role'];
    expected_functions text[] := ARRAY[
        'process_pending_escalations', 'process_incident_timeouts', 'open_incident',
        'on_call_user', 'schedule_shifts', 'escalation_policy_snapshot',
        'calculate_all_component_uptime', 'cleanup_old_data', 'refresh_incident_statistics',
        'refresh_monitoring_statistics', 'validate_schema_integrity',
        'current_organization_id'];
    expected_triggers text[] := ARRAY[
        'incidents.incidents_before_write', 'incidents.incidents_after_insert',
        'incidents.incidents_after_status_change'];
    expected_views text[] := ARRAY['incident_statistics', 'monitoring_check_statistics'];
    missing text[];
BEGIN
    SELECT array_agg(t ORDER BY t) INTO missing FROM unnest(expected_tables) t
    WHERE to_regclass('public.' || t) IS NULL;
    RETURN QUERY SELECT 'tables'::text, missing IS NULL,
        COALESCE('missing: ' || array_to_string(missing, ', '),
                 cardinality(expected_tables) || ' tables present');

    SELECT array_agg(c ORDER BY c) INTO missing FROM unnest(expected_columns) c
    WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns ic
                      WHERE ic.table_schema = 'public'
                        AND ic.table_name = split_part(c, '.', 1)
                        AND ic.column_name = split_part(c, '.', 2));
    RETURN QUERY SELECT 'columns'::text, missing IS NULL,
        COALESCE('missing: ' || array_to_string(missing, ', '),
                 cardinality(expected_columns) || ' key columns present');

    SELECT array_agg(f ORDER BY f) INTO missing FROM unnest(expected_functions) f
    WHERE NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                      WHERE n.nspname = 'public' AND p.proname = f);
    RETURN QUERY SELECT 'functions'::text, missing IS NULL,
        COALESCE('missing: ' || array_to_string(missing, ', '),
                 cardinality(expected_functions) || ' functions present');

    SELECT array_agg(tr ORDER BY tr) INTO missing FROM unnest(expected_triggers) tr
    WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
                      WHERE NOT g.tgisinternal AND c.relname = split_part(tr, '.', 1)
                        AND g.tgname = split_part(tr, '.', 2));
    RETURN QUERY SELECT 'triggers'::text, missing IS NULL,
        COALESCE('missing: ' || array_to_string(missing, ', '),
                 cardinality(expected_triggers) || ' lifecycle triggers present');

    SELECT array_agg(c.relname::text ORDER BY c.relname) INTO missing
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = 'organization_id' AND NOT a.attisdropped);
    RETURN QUERY SELECT 'rls_enabled'::text, missing IS NULL,
        COALESCE('without RLS: ' || array_to_string(missing, ', '),
                 'RLS on every organization-scoped table');

    SELECT array_agg(c.relname::text ORDER BY c.relname) INTO missing
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
    WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
      AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid);
    RETURN QUERY SELECT 'policies'::text, missing IS NULL,
        COALESCE('RLS without a policy: ' || array_to_string(missing, ', '),
                 (SELECT count(*) FROM pg_policy) || ' policies');

    SELECT array_agg(con.conrelid::regclass::text || '(' || a.attname || ')' ORDER BY 1) INTO missing
    FROM pg_constraint con
    JOIN pg_namespace n ON n.oid = con.connamespace AND n.nspname = 'public'
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
    WHERE con.contype = 'f'
      AND NOT EXISTS (SELECT 1 FROM pg_index i
                      WHERE i.indrelid = con.conrelid AND i.indkey[0] = con.conkey[1]);
    RETURN QUERY SELECT 'foreign_key_indexes'::text, missing IS NULL,
        COALESCE('unindexed foreign keys: ' || array_to_string(missing, ', '),
                 'every foreign key has an index');

    SELECT array_agg(v ORDER BY v) INTO missing FROM unnest(expected_views) v
    WHERE NOT EXISTS (
        SELECT 1 FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisunique
        WHERE c.relname = v AND c.relkind = 'm');
    RETURN QUERY SELECT 'materialized_views'::text, missing IS NULL,
        COALESCE('missing or without a unique index: ' || array_to_string(missing, ', '),
                 cardinality(expected_views) || ' materialized views, refreshable concurrently');
END
$$;
-- reverse
DROP FUNCTION IF EXISTS validate_schema_integrity();
