-- Daily uptime per component, from component_status_history, into uptime_calculations.
--
-- Weights (also in statuspages/README.md):
--   major_outage          counts fully as downtime            (weight 1.0)
--   partial_outage        counts as 30 % downtime             (weight 0.3)
--   degraded_performance  is not downtime (weight 0); its seconds are kept separately
--   under_maintenance     is left out of the denominator: planned work is not downtime
--   operational           is uptime
-- uptime % = 100 * (1 - (major + 0.3 * partial) / (seconds in the day - maintenance));
-- a day that was all maintenance is 100 %. Days are the page's time zone's calendar days;
-- today counts up to now; days before the component existed get no row.
--
-- SELECT calculate_all_component_uptime(); works verbatim (last 90 days, every page). It is
-- idempotent (an upsert that rewrites only rows that changed), works on an empty database,
-- and bumps the version of pages whose figures moved, so their cached pages refresh.
CREATE OR REPLACE FUNCTION calculate_all_component_uptime(p_days integer DEFAULT 90,
                                                          p_status_page_id uuid DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    -- The wall clock, not the transaction start: rows written earlier in this transaction
    -- (statement timestamps) must fall before "now".
    v_now timestamptz := clock_timestamp();
    days integer := GREATEST(COALESCE(p_days, 90), 1);
    horizon timestamptz := clock_timestamp()
                           - make_interval(days => GREATEST(COALESCE(p_days, 90), 1) + 2);
    written integer;
BEGIN
    WITH comp AS (
        SELECT c.id, c.organization_id, c.status_page_id, c.status,
               COALESCE(NULLIF(p.time_zone, ''), 'UTC') AS tz,
               LEAST(c.created_at,
                     (SELECT min(h.changed_at) FROM component_status_history h
                      WHERE h.component_id = c.id)) AS since
        FROM status_page_components c
        JOIN status_pages p ON p.id = c.status_page_id
        WHERE p_status_page_id IS NULL OR c.status_page_id = p_status_page_id
    ),
    day AS (
        SELECT comp.id AS component_id, comp.organization_id, comp.status_page_id, d.day,
               GREATEST(d.day::timestamp AT TIME ZONE comp.tz, comp.since) AS day_start,
               LEAST((d.day + 1)::timestamp AT TIME ZONE comp.tz, v_now) AS day_end
        FROM comp
        CROSS JOIN LATERAL (
            SELECT (v_now AT TIME ZONE comp.tz)::date - k AS day
            FROM generate_series(0, days - 1) AS k
        ) d
    ),
    points AS (
        SELECT h.component_id, h.new_status AS status, h.changed_at
        FROM component_status_history h
        JOIN comp ON comp.id = h.component_id
        WHERE h.changed_at >= horizon
        UNION ALL
        SELECT comp.id, b.new_status, b.changed_at
        FROM comp
        CROSS JOIN LATERAL (
            SELECT h.new_status, h.changed_at FROM component_status_history h
            WHERE h.component_id = comp.id AND h.changed_at < horizon
            ORDER BY h.changed_at DESC LIMIT 1
        ) b
    ),
    spans AS (
        SELECT component_id, status, changed_at AS span_start,
               COALESCE(lead(changed_at) OVER (PARTITION BY component_id ORDER BY changed_at),
                        'infinity'::timestamptz) AS span_end
        FROM points
        UNION ALL
        -- No history at all (rows written before the trigger existed): its current status.
        SELECT comp.id, comp.status, '-infinity'::timestamptz, 'infinity'::timestamptz
        FROM comp WHERE NOT EXISTS (SELECT 1 FROM points WHERE points.component_id = comp.id)
    ),
    per_day AS (
        SELECT d.component_id, d.organization_id, d.status_page_id, d.day,
               extract(epoch FROM d.day_end - d.day_start) AS total,
               COALESCE(sum(extract(epoch FROM LEAST(s.span_end, d.day_end)
                                               - GREATEST(s.span_start, d.day_start)))
                        FILTER (WHERE s.status = 'major_outage'), 0) AS major,
               COALESCE(sum(extract(epoch FROM LEAST(s.span_end, d.day_end)
                                               - GREATEST(s.span_start, d.day_start)))
                        FILTER (WHERE s.status = 'partial_outage'), 0) AS partial,
               COALESCE(sum(extract(epoch FROM LEAST(s.span_end, d.day_end)
                                               - GREATEST(s.span_start, d.day_start)))
                        FILTER (WHERE s.status = 'degraded_performance'), 0) AS degraded,
               COALESCE(sum(extract(epoch FROM LEAST(s.span_end, d.day_end)
                                               - GREATEST(s.span_start, d.day_start)))
                        FILTER (WHERE s.status = 'under_maintenance'), 0) AS maintenance,
               d.day_start, d.day_end
        FROM day d
        LEFT JOIN spans s ON s.component_id = d.component_id
                         AND s.span_start < d.day_end AND s.span_end > d.day_start
        WHERE d.day_end > d.day_start
        GROUP BY d.component_id, d.organization_id, d.status_page_id, d.day, d.day_start,
                 d.day_end
    ),
    incident_days AS (
        SELECT pd.component_id, pd.day, count(DISTINCT spi.id) AS n
        FROM per_day pd
        JOIN status_page_incident_components ic ON ic.component_id = pd.component_id
        JOIN status_page_incidents spi ON spi.id = ic.status_page_incident_id
        WHERE spi.started_at <= pd.day_end
          AND COALESCE(spi.resolved_at, 'infinity'::timestamptz) > pd.day_start
        GROUP BY pd.component_id, pd.day
    ),
    upserted AS (
        INSERT INTO uptime_calculations AS u (
            organization_id, component_id, status_page_id, date, uptime_percentage,
            total_seconds, counted_seconds, downtime_seconds, major_outage_seconds,
            partial_outage_seconds, degraded_seconds, maintenance_seconds, incident_count,
            calculated_at)
        SELECT pd.organization_id, pd.component_id, pd.status_page_id, pd.day,
               CASE WHEN pd.total - pd.maintenance <= 0 THEN 100
                    ELSE round(GREATEST(0, 100 * (1 - (pd.major + 0.3 * pd.partial)
                                                      / (pd.total - pd.maintenance))), 4)
               END,
               round(pd.total), round(GREATEST(pd.total - pd.maintenance, 0)),
               round(pd.major + 0.3 * pd.partial, 2), round(pd.major), round(pd.partial),
               round(pd.degraded), round(pd.maintenance), COALESCE(i.n, 0), now()
        FROM per_day pd
        LEFT JOIN incident_days i ON i.component_id = pd.component_id AND i.day = pd.day
        ON CONFLICT (component_id, date) DO UPDATE SET
            uptime_percentage = EXCLUDED.uptime_percentage,
            total_seconds = EXCLUDED.total_seconds,
            counted_seconds = EXCLUDED.counted_seconds,
            downtime_seconds = EXCLUDED.downtime_seconds,
            major_outage_seconds = EXCLUDED.major_outage_seconds,
            partial_outage_seconds = EXCLUDED.partial_outage_seconds,
            degraded_seconds = EXCLUDED.degraded_seconds,
            maintenance_seconds = EXCLUDED.maintenance_seconds,
            incident_count = EXCLUDED.incident_count,
            calculated_at = EXCLUDED.calculated_at
        -- Only what a reader sees: today's growing total alone is not worth a rewrite.
        WHERE (u.uptime_percentage, u.major_outage_seconds, u.partial_outage_seconds,
               u.degraded_seconds, u.maintenance_seconds, u.incident_count)
              IS DISTINCT FROM
              (EXCLUDED.uptime_percentage, EXCLUDED.major_outage_seconds,
               EXCLUDED.partial_outage_seconds, EXCLUDED.degraded_seconds,
               EXCLUDED.maintenance_seconds, EXCLUDED.incident_count)
        RETURNING u.status_page_id
    ),
    touched AS (
        UPDATE status_pages SET content_version = content_version + 1, updated_at = now()
        WHERE id IN (SELECT status_page_id FROM upserted)
        RETURNING id
    )
    SELECT count(*) INTO written FROM upserted;
    RETURN written;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS calculate_all_component_uptime(integer, uuid);
