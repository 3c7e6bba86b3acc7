-- monitoring_check_statistics: one row per check per day (the seed's materialized view),
-- from the daily rollups in monitoring_statistics, so it never scans raw results and keeps
-- history past check_results' retention. Refreshed CONCURRENTLY by
-- refresh_monitoring_check_statistics() (beat, hourly); the app role reads it only through
-- the organization-filtered view, since materialized views have no row-level security.
CREATE MATERIALIZED VIEW IF NOT EXISTS monitoring_check_statistics AS
SELECT
    (s.bucket_start AT TIME ZONE 'UTC')::date AS day,
    s.organization_id,
    s.check_id,
    c.name AS check_name,
    c.check_type,
    s.total_checks,
    s.up_checks,
    s.degraded_checks,
    s.down_checks,
    CASE WHEN s.total_checks > 0
         THEN round(100.0 * (s.up_checks + s.degraded_checks) / s.total_checks, 4) END
        AS uptime_percentage,
    s.avg_response_ms,
    s.p95_response_ms
FROM monitoring_statistics s
JOIN monitoring_checks c ON c.id = s.check_id
WHERE s.period = 'day'
WITH DATA;

CREATE UNIQUE INDEX IF NOT EXISTS monitoring_check_statistics_key
    ON monitoring_check_statistics (check_id, day);
CREATE INDEX IF NOT EXISTS monitoring_check_statistics_org_day
    ON monitoring_check_statistics (organization_id, day);

CREATE OR REPLACE VIEW monitoring_check_statistics_by_organization WITH (security_barrier) AS
    SELECT * FROM monitoring_check_statistics WHERE organization_id = current_organization_id();

CREATE OR REPLACE FUNCTION refresh_monitoring_check_statistics() RETURNS void
LANGUAGE sql AS $$
    REFRESH MATERIALIZED VIEW CONCURRENTLY monitoring_check_statistics
$$;
-- reverse
DROP FUNCTION IF EXISTS refresh_monitoring_check_statistics();
DROP VIEW IF EXISTS monitoring_check_statistics_by_organization;
DROP MATERIALIZED VIEW IF EXISTS monitoring_check_statistics;
