-- check_result_log: check_results as Django admin can list, filter and page through them.
--
-- Why a view: check_results is keyed by (series_id, checked_at), and Django admin refuses
-- models with a composite primary key. The view gives each result a one-column key,
-- "<series_id>:<checked_at as epoch microseconds>", computed only for the rows a page shows
-- (the admin decodes it back into the real key to open a result, never filters on it), and
-- adds the check's organization, uuid and name for scoping, links and search.
--
-- Speed: it is a plain join the planner flattens, so "this check, newest first" still runs
-- on the check_results primary key partition by partition, and a time range still prunes
-- partitions; nothing is materialized.
--
-- Tenancy: security_invoker (PostgreSQL 15+) makes the view read check_results and
-- monitoring_checks with the privileges and row-level security of whoever queries it, so the
-- app role sees only its organization's results here exactly as in check_results. (A view
-- without it would read as its owner, the schema owner, and bypass RLS.) The migration
-- grants the app role SELECT only: the view is not for writing.
CREATE OR REPLACE VIEW check_result_log WITH (security_invoker = true) AS
SELECT
    r.series_id::text || ':'
        || (extract(epoch FROM r.checked_at) * 1000000)::bigint::text AS id,
    c.organization_id,
    r.series_id,
    c.id AS check_id,
    c.name AS check_name,
    r.checked_at,
    r.location_id,
    r.status,
    r.response_time_ms,
    r.reason
FROM check_results r
JOIN monitoring_checks c ON c.series_id = r.series_id;

COMMENT ON VIEW check_result_log IS
    'check_results with a one-column key for Django admin; security_invoker, so RLS applies';
-- reverse
DROP VIEW IF EXISTS check_result_log;
