-- Daily incident statistics per organization, service and severity: counts, MTTA, MTTR.
-- A materialized view (refreshed CONCURRENTLY by refresh_incident_statistics(), which beat
-- runs hourly), read through a view that keeps each organization to its own rows:
-- row-level security does not apply to materialized views, so the app role may not read
-- the view itself.
CREATE MATERIALIZED VIEW IF NOT EXISTS incident_statistics AS
SELECT
    (i.created_at AT TIME ZONE 'UTC')::date AS day,
    i.organization_id,
    COALESCE(i.service_id, '00000000-0000-0000-0000-000000000000'::uuid) AS service_id,
    i.severity,
    count(*) AS incidents,
    count(*) FILTER (WHERE i.acknowledged_at IS NOT NULL) AS acknowledged,
    count(*) FILTER (WHERE i.status = 'resolved') AS resolved,
    count(*) FILTER (WHERE i.merged_into_id IS NOT NULL) AS merged,
    avg(extract(epoch FROM i.acknowledged_at - i.created_at))
        FILTER (WHERE i.acknowledged_at IS NOT NULL) AS mtta_seconds,
    avg(extract(epoch FROM i.resolved_at - i.created_at))
        FILTER (WHERE i.resolved_at IS NOT NULL) AS mttr_seconds
FROM incidents i
GROUP BY 1, 2, 3, 4
WITH DATA;

CREATE UNIQUE INDEX IF NOT EXISTS incident_statistics_key
    ON incident_statistics (organization_id, day, service_id, severity);

CREATE OR REPLACE VIEW incident_statistics_by_organization WITH (security_barrier) AS
    SELECT * FROM incident_statistics WHERE organization_id = current_organization_id();

CREATE OR REPLACE FUNCTION refresh_incident_statistics() RETURNS void
LANGUAGE sql AS $$
    REFRESH MATERIALIZED VIEW CONCURRENTLY incident_statistics
$$;
-- reverse
DROP FUNCTION IF EXISTS refresh_incident_statistics();
DROP VIEW IF EXISTS incident_statistics_by_organization;
DROP MATERIALIZED VIEW IF EXISTS incident_statistics;
