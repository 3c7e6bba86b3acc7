-- The monitoring engine inside PostgreSQL: claiming due checks, recording results (the
-- confirmation state machine, alerts and incidents), statistics rollups and retention.
-- Workers call claim_due_checks() and record_check_results(); beat calls
-- refresh_monitoring_statistics() and cleanup_old_check_results(); all callable from psql.

-- ---------------------------------------------------------------------------------------
-- Result statuses are stored as smallints in check_results (0 up, 1 degraded, 2 down).
CREATE OR REPLACE FUNCTION monitoring_status_code(p_status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_status WHEN 'up' THEN 0 WHEN 'degraded' THEN 1 WHEN 'down' THEN 2 END::smallint
$$;

-- ---------------------------------------------------------------------------------------
-- Response-time histograms. Lower edges in milliseconds; above 15 ms adjacent edges are at
-- most a third apart, so a p95 read from the histogram is within that of the exact one.
-- Histograms of two buckets add element-wise, which is what makes hourly and daily rollups
-- incremental (an exact percentile cannot be merged).
CREATE OR REPLACE FUNCTION monitoring_histogram_bounds() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{0,5,10,15,20,25,30,40,50,60,75,100,125,150,200,250,300,400,500,600,750,1000,
             1250,1500,2000,2500,3000,4000,5000,6000,7500,10000,12500,15000,20000,25000,
             30000,40000,50000,60000}'::integer[]
$$;

CREATE OR REPLACE FUNCTION monitoring_histogram(p_values integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(COALESCE(h.n, 0) ORDER BY b.i)
    FROM generate_series(1, cardinality(monitoring_histogram_bounds())) AS b(i)
    LEFT JOIN (
        SELECT width_bucket(GREATEST(v, 0), monitoring_histogram_bounds()) AS i,
               count(*)::integer AS n
        FROM unnest(p_values) AS v
        WHERE v IS NOT NULL
        GROUP BY 1
    ) h ON h.i = b.i
$$;

CREATE OR REPLACE FUNCTION monitoring_histogram_add(p_a integer[], p_b integer[])
RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(array_agg(COALESCE(x, 0) + COALESCE(y, 0) ORDER BY i), '{}'::integer[])
    FROM unnest(p_a, p_b) WITH ORDINALITY AS t(x, y, i)
$$;

-- The q-quantile (0..1) of a histogram, interpolated linearly inside its bucket.
CREATE OR REPLACE FUNCTION monitoring_histogram_quantile(p_histogram integer[],
                                                         p_q double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    bounds integer[] := monitoring_histogram_bounds();
    last integer := cardinality(bounds);
    total bigint;
    target double precision;
    seen bigint := 0;
    n integer;
BEGIN
    SELECT COALESCE(sum(x), 0) INTO total FROM unnest(p_histogram) AS x;
    IF total = 0 THEN
        RETURN NULL;
    END IF;
    target := LEAST(GREATEST(p_q, 0), 1) * total;
    FOR i IN 1 .. cardinality(p_histogram) LOOP
        n := COALESCE(p_histogram[i], 0);
        IF n > 0 AND seen + n >= target THEN
            IF i >= last THEN
                RETURN bounds[last];
            END IF;
            RETURN bounds[i] + (bounds[i + 1] - bounds[i]) * GREATEST(target - seen, 0) / n;
        END IF;
        seen := seen + n;
    END LOOP;
    RETURN bounds[last];
END
$$;

-- ---------------------------------------------------------------------------------------
-- Scheduling. Claims the schedule rows due by now() + p_horizon_seconds (the dispatcher
-- looks a little ahead and the worker waits for each check's exact time), and advances
-- each by whole intervals: next = slot + interval, never now() + interval, so a check keeps
-- its phase. A row that fell behind (beat was down) runs once, at its latest missed slot,
-- instead of catching up with a burst. Safe from any number of dispatchers at once
-- (FOR UPDATE SKIP LOCKED). Paused checks, inactive locations and heartbeat checks (which
-- are evaluated, not probed) advance but are not returned.
CREATE OR REPLACE FUNCTION claim_due_checks(p_limit integer DEFAULT 5000,
                                            p_horizon_seconds double precision DEFAULT 0)
RETURNS TABLE (check_id uuid, location_id smallint, queue text, scheduled_at timestamptz,
               interval_seconds integer)
LANGUAGE sql AS $$
    WITH due AS (
        SELECT s.id, s.next_run_at
        FROM check_schedules s
        WHERE s.next_run_at <= now() + make_interval(secs => GREATEST(p_horizon_seconds, 0))
        ORDER BY s.next_run_at
        LIMIT GREATEST(COALESCE(p_limit, 5000), 1)
        FOR UPDATE SKIP LOCKED
    ), slotted AS (
        SELECT due.id, c.is_paused, c.check_type, c.interval_seconds,
               due.next_run_at + make_interval(secs => (c.interval_seconds * floor(
                   GREATEST(0, extract(epoch FROM now() - due.next_run_at))
                   / c.interval_seconds))::double precision) AS slot
        FROM due
        JOIN check_schedules s ON s.id = due.id
        JOIN monitoring_checks c ON c.id = s.check_id
    ), advanced AS (
        UPDATE check_schedules s
        SET next_run_at = slotted.slot + make_interval(secs => slotted.interval_seconds),
            last_dispatched_at = now()
        FROM slotted
        WHERE s.id = slotted.id
        RETURNING s.check_id, s.location_id, slotted.slot, slotted.interval_seconds,
                  slotted.is_paused, slotted.check_type
    )
    SELECT a.check_id, a.location_id, l.queue::text, a.slot, a.interval_seconds
    FROM advanced a
    JOIN monitoring_locations l ON l.id = a.location_id
    WHERE NOT a.is_paused AND l.is_active AND a.check_type <> 'heartbeat'
    ORDER BY a.slot
$$;

-- When a heartbeat check becomes overdue: last ping (or creation) + period + grace. An
-- unreadable config counts as due at once, so the evaluation records why it is invalid.
CREATE OR REPLACE FUNCTION heartbeat_due_at(p_config jsonb, p_last_ping_at timestamptz,
                                            p_created_at timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(p_last_ping_at, p_created_at) + CASE
        WHEN jsonb_typeof(p_config->'period_s') = 'number'
             AND COALESCE(jsonb_typeof(p_config->'grace_s'), 'number') = 'number'
        THEN make_interval(secs => (p_config->>'period_s')::double precision
                                   + COALESCE((p_config->>'grace_s')::double precision, 60))
        ELSE interval '0'
    END
$$;

-- ---------------------------------------------------------------------------------------
-- Maintenance suppression. The status-pages app owns maintenance windows; it may define
-- check_in_maintenance(check_id, at) itself, or component_in_maintenance(component_id, at)
-- plus status_page_components.monitoring_check_id. This stand-in is created only if no
-- check_in_maintenance exists yet (a later CREATE OR REPLACE by status pages replaces it:
-- same name, argument names and result), and it looks the status-pages objects up at call
-- time, so it works whichever app migrates first.
DO $do$
BEGIN
    IF to_regprocedure('check_in_maintenance(uuid, timestamptz)') IS NULL THEN
        CREATE FUNCTION check_in_maintenance(check_id uuid, at timestamptz) RETURNS boolean
        LANGUAGE plpgsql STABLE AS $fn$
        DECLARE
            result boolean;
        BEGIN
            IF to_regprocedure('component_in_maintenance(uuid, timestamptz)') IS NULL
               OR NOT EXISTS (
                   SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = to_regclass('status_page_components')
                     AND a.attname = 'monitoring_check_id' AND NOT a.attisdropped) THEN
                RETURN false;
            END IF;
            EXECUTE 'SELECT EXISTS (SELECT 1 FROM status_page_components c'
                    ' WHERE c.monitoring_check_id = $1 AND component_in_maintenance(c.id, $2))'
                INTO result USING $1, $2;
            RETURN COALESCE(result, false);
        END
        $fn$;
        COMMENT ON FUNCTION check_in_maintenance(uuid, timestamptz) IS
            'monitoring stand-in: true when a status-page component linked to the check is in '
            'maintenance (component_in_maintenance), false while status pages do not provide it';
    END IF;
END
$do$;

-- Tell status pages that a check went down / recovered, if they listen
-- (set_components_for_monitoring_check(check_id, status) with status 'down' or 'up').
-- Their failure must not lose our results: it is reported as a warning.
CREATE OR REPLACE FUNCTION monitoring_set_components(p_check_id uuid, p_status text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regprocedure('set_components_for_monitoring_check(uuid, text)') IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        -- Status pages speak component statuses; a confirmed failure is a major outage.
        EXECUTE 'SELECT set_components_for_monitoring_check($1, $2)'
            USING p_check_id, CASE p_status WHEN 'down' THEN 'major_outage'
                                            WHEN 'degraded' THEN 'degraded_performance'
                                            WHEN 'up' THEN 'operational'
                                            ELSE p_status END;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'set_components_for_monitoring_check(%, %) failed: %',
            p_check_id, p_status, SQLERRM;
    END;
END
$$;

-- Opens (or joins) the incident of a newly opened alert through open_incident(), with the
-- dedup key monitoring:<check_id>. A check without a service, or a disabled service, still
-- has its alert; the alert says why there is no incident.
CREATE OR REPLACE FUNCTION monitoring_open_incident(p_check monitoring_checks, p_alert_id uuid,
                                                    p_reason text, p_locations text[])
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_incident uuid;
BEGIN
    IF p_check.service_id IS NULL THEN
        UPDATE monitoring_alerts SET incident_error = 'The check has no service to open an incident on.'
        WHERE id = p_alert_id;
        RETURN NULL;
    END IF;
    BEGIN
        SELECT o.incident_id INTO v_incident
        FROM open_incident(
            p_check.service_id,
            format('%s is down', p_check.name),
            COALESCE(p_reason, ''),
            p_check.severity,
            'monitoring:' || p_check.id,
            'monitoring',
            jsonb_build_object('check_id', p_check.id, 'check_type', p_check.check_type,
                               'alert_id', p_alert_id, 'reason', p_reason,
                               'locations', to_jsonb(COALESCE(p_locations, '{}'::text[]))),
            NULL,
            NULL) o;
    EXCEPTION WHEN OTHERS THEN
        UPDATE monitoring_alerts SET incident_error = SQLERRM WHERE id = p_alert_id;
        RETURN NULL;
    END;
    UPDATE monitoring_alerts SET incident_id = v_incident WHERE id = p_alert_id;
    RETURN v_incident;
END
$$;

-- ---------------------------------------------------------------------------------------
-- Records a batch of results and runs each through the check's state machine.
--
-- p_results: JSON array of {check_id, location_id (NULL for heartbeats), checked_at,
-- status ('up'|'degraded'|'down'), response_time_ms, reason}.
--
-- A failure ('down') makes the check unconfirmed_down; it is confirmed (state down) after
-- failure_threshold consecutive failures and, with require_second_location, failures from
-- two locations. Confirmation opens one monitoring_alert (partial unique index) and its
-- incident (open_incident, dedup key monitoring:<check_id>), unless the check is in
-- maintenance. recovery_threshold consecutive successes ('up' or 'degraded') resolve the
-- alert and the incident, whose timeline then reads "Resolved: monitor recovered".
--
-- Race safety: the batch's checks are locked in id order first, so results for one check
-- arriving at once from several workers (or the heartbeat endpoint) apply one after the
-- other, and two batches cannot deadlock; each batch is one transaction.
--
-- Returns one row per result: the state after it, the state before, a location to re-check
-- from at once (a first failure, when the check has another location), and the alert
-- and incident it opened, if any. Reasons of 'up' results are not stored (narrow rows).
CREATE OR REPLACE FUNCTION record_check_results(p_results jsonb)
RETURNS TABLE (check_id uuid, state text, previous_state text, recheck_location_id smallint,
               alert_id uuid, incident_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r record;
    chk monitoring_checks%ROWTYPE;
    new_state text;
    location_count integer;
    confirmed boolean;
    codes text[];
    open_alert monitoring_alerts%ROWTYPE;
    v_alert_id uuid;
    v_incident_id uuid;
    v_recheck smallint;
    previous_reason text;
BEGIN
    IF p_results IS NULL OR jsonb_typeof(p_results) <> 'array' THEN
        RAISE EXCEPTION 'record_check_results expects a JSON array of results'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_results) e
               WHERE e->>'check_id' IS NULL
                  OR COALESCE(e->>'status', '') NOT IN ('up', 'degraded', 'down')) THEN
        RAISE EXCEPTION 'every result needs a check_id and a status of up, degraded or down'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM 1 FROM monitoring_checks c
    WHERE c.id IN (SELECT (e->>'check_id')::uuid FROM jsonb_array_elements(p_results) e)
    ORDER BY c.id
    FOR UPDATE;

    INSERT INTO check_results (check_id, location_id, checked_at, status, response_time_ms,
                               reason)
    SELECT x.check_id, x.location_id, COALESCE(x.checked_at, now()),
           monitoring_status_code(x.status), x.response_time_ms,
           CASE WHEN x.status <> 'up' THEN NULLIF(left(x.reason, 1000), '') END
    FROM jsonb_to_recordset(p_results) AS x(check_id uuid, location_id smallint,
                                            checked_at timestamptz, status text,
                                            response_time_ms integer, reason text)
    WHERE EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = x.check_id);

    -- Hourly and daily buckets, incrementally; the rows are touched in (check, period,
    -- bucket) order under the check locks above, so concurrent batches never wait in a cycle.
    INSERT INTO monitoring_statistics AS s (
        organization_id, check_id, period, bucket_start, total_checks, up_checks,
        degraded_checks, down_checks, response_count, response_sum_ms, response_histogram,
        avg_response_ms, p95_response_ms, updated_at)
    SELECT c.organization_id, x.check_id, p.period,
           date_trunc(p.period, COALESCE(x.checked_at, now()), 'UTC'),
           count(*),
           count(*) FILTER (WHERE x.status = 'up'),
           count(*) FILTER (WHERE x.status = 'degraded'),
           count(*) FILTER (WHERE x.status = 'down'),
           count(x.response_time_ms),
           COALESCE(sum(x.response_time_ms), 0),
           monitoring_histogram(array_agg(x.response_time_ms)),
           avg(x.response_time_ms)::double precision,
           monitoring_histogram_quantile(monitoring_histogram(array_agg(x.response_time_ms)),
                                         0.95),
           now()
    FROM jsonb_to_recordset(p_results) AS x(check_id uuid, checked_at timestamptz,
                                            status text, response_time_ms integer)
    JOIN monitoring_checks c ON c.id = x.check_id
    CROSS JOIN (VALUES ('hour'), ('day')) AS p(period)
    GROUP BY c.organization_id, x.check_id, p.period, 4
    ORDER BY x.check_id, p.period, 4
    ON CONFLICT (check_id, period, bucket_start) DO UPDATE SET
        total_checks = s.total_checks + EXCLUDED.total_checks,
        up_checks = s.up_checks + EXCLUDED.up_checks,
        degraded_checks = s.degraded_checks + EXCLUDED.degraded_checks,
        down_checks = s.down_checks + EXCLUDED.down_checks,
        response_count = s.response_count + EXCLUDED.response_count,
        response_sum_ms = s.response_sum_ms + EXCLUDED.response_sum_ms,
        response_histogram = monitoring_histogram_add(s.response_histogram,
                                                      EXCLUDED.response_histogram),
        avg_response_ms = (s.response_sum_ms + EXCLUDED.response_sum_ms)::double precision
                          / NULLIF(s.response_count + EXCLUDED.response_count, 0),
        p95_response_ms = monitoring_histogram_quantile(
            monitoring_histogram_add(s.response_histogram, EXCLUDED.response_histogram), 0.95),
        updated_at = now();

    FOR r IN
        SELECT x.check_id AS cid, x.location_id AS lid, COALESCE(x.checked_at, now()) AS at,
               x.status AS status, x.response_time_ms AS ms, x.reason AS reason
        FROM jsonb_to_recordset(p_results) AS x(check_id uuid, location_id smallint,
                                                checked_at timestamptz, status text,
                                                response_time_ms integer, reason text)
        ORDER BY x.check_id, x.checked_at
    LOOP
        SELECT * INTO chk FROM monitoring_checks c WHERE c.id = r.cid;
        CONTINUE WHEN NOT FOUND;
        v_alert_id := NULL;
        v_incident_id := NULL;
        v_recheck := NULL;

        IF chk.is_paused THEN
            -- A run that was in flight when the check was paused: history only.
            new_state := 'paused';
        ELSIF r.status = 'down' THEN
            chk.consecutive_failures := chk.consecutive_failures + 1;
            chk.consecutive_successes := 0;
            IF r.lid IS NOT NULL AND NOT (r.lid = ANY (chk.failing_location_ids)) THEN
                chk.failing_location_ids := chk.failing_location_ids || r.lid;
            END IF;
            SELECT count(*) INTO location_count
            FROM check_schedules s
            JOIN monitoring_locations l ON l.id = s.location_id AND l.is_active
            WHERE s.check_id = chk.id;
            confirmed := chk.consecutive_failures >= chk.failure_threshold
                AND (NOT chk.require_second_location OR location_count < 2
                     OR cardinality(chk.failing_location_ids) >= 2);
            IF confirmed THEN
                new_state := 'down';
                IF NOT EXISTS (SELECT 1 FROM monitoring_alerts a
                               WHERE a.check_id = chk.id AND a.status = 'open')
                   AND NOT check_in_maintenance(chk.id, r.at) THEN
                    SELECT COALESCE(array_agg(l.code::text ORDER BY l.code), '{}') INTO codes
                    FROM monitoring_locations l WHERE l.id = ANY (chk.failing_location_ids);
                    INSERT INTO monitoring_alerts (organization_id, check_id, failure_reason,
                                                   confirmed_locations)
                    VALUES (chk.organization_id, chk.id, COALESCE(r.reason, ''), codes)
                    ON CONFLICT (check_id) WHERE status = 'open' DO NOTHING
                    RETURNING id INTO v_alert_id;
                    IF v_alert_id IS NOT NULL THEN
                        v_incident_id := monitoring_open_incident(chk, v_alert_id, r.reason,
                                                                  codes);
                        PERFORM monitoring_set_components(chk.id, 'down');
                    END IF;
                END IF;
            ELSE
                -- Already down and failing again while recovering: stay down.
                new_state := CASE WHEN chk.state = 'down' THEN 'down' ELSE 'unconfirmed_down' END;
                IF new_state = 'unconfirmed_down' AND r.lid IS NOT NULL
                   AND chk.consecutive_failures = 1 THEN
                    -- A first failure: re-check at once from another location (as Pingdom
                    -- does), preferring one that has not failed yet. Later failures wait
                    -- for their schedule, so the threshold still spans intervals.
                    SELECT s.location_id INTO v_recheck
                    FROM check_schedules s
                    JOIN monitoring_locations l ON l.id = s.location_id AND l.is_active
                    WHERE s.check_id = chk.id AND s.location_id <> r.lid
                    ORDER BY (s.location_id = ANY (chk.failing_location_ids)), random()
                    LIMIT 1;
                END IF;
            END IF;
        ELSE
            chk.consecutive_failures := 0;
            chk.failing_location_ids := '{}';
            chk.consecutive_successes := chk.consecutive_successes + 1;
            IF chk.state = 'down' AND chk.consecutive_successes < chk.recovery_threshold THEN
                new_state := 'down';
            ELSE
                new_state := r.status;
                FOR open_alert IN
                    SELECT * FROM monitoring_alerts a
                    WHERE a.check_id = chk.id AND a.status = 'open'
                    FOR UPDATE
                LOOP
                    UPDATE monitoring_alerts a SET status = 'resolved', resolved_at = now()
                    WHERE a.id = open_alert.id;
                    IF open_alert.incident_id IS NOT NULL THEN
                        previous_reason := current_setting('app.status_change_reason', true);
                        PERFORM set_config('app.status_change_reason', 'monitor recovered', true);
                        UPDATE incidents i SET status = 'resolved'
                        WHERE i.id = open_alert.incident_id AND i.status <> 'resolved';
                        PERFORM set_config('app.status_change_reason',
                                           COALESCE(previous_reason, ''), true);
                    END IF;
                END LOOP;
                IF chk.state = 'down' THEN
                    PERFORM monitoring_set_components(chk.id, 'up');
                END IF;
            END IF;
        END IF;

        IF chk.is_paused THEN
            UPDATE monitoring_checks c
            SET last_checked_at = GREATEST(c.last_checked_at, r.at)
            WHERE c.id = chk.id;
        ELSE
            UPDATE monitoring_checks c
            SET state = new_state,
                state_changed_at = CASE WHEN new_state <> c.state THEN now()
                                        ELSE c.state_changed_at END,
                consecutive_failures = chk.consecutive_failures,
                consecutive_successes = chk.consecutive_successes,
                failing_location_ids = chk.failing_location_ids,
                last_checked_at = GREATEST(c.last_checked_at, r.at),
                last_status = r.status,
                last_response_time_ms = r.ms,
                last_reason = left(r.reason, 1000)
            WHERE c.id = chk.id;
        END IF;

        check_id := chk.id;
        state := new_state;
        previous_state := chk.state;
        recheck_location_id := v_recheck;
        alert_id := v_alert_id;
        incident_id := v_incident_id;
        RETURN NEXT;
    END LOOP;
END
$$;

-- One result, for psql and callers that have just one (the heartbeat endpoint).
CREATE OR REPLACE FUNCTION process_check_result(
    p_check_id uuid, p_location_id smallint, p_status text, p_response_ms integer,
    p_reason text, p_checked_at timestamptz DEFAULT now()
) RETURNS TABLE (check_id uuid, state text, previous_state text, recheck_location_id smallint,
                 alert_id uuid, incident_id uuid)
LANGUAGE sql AS $$
    SELECT * FROM record_check_results(jsonb_build_array(jsonb_build_object(
        'check_id', p_check_id, 'location_id', p_location_id, 'status', p_status,
        'response_time_ms', p_response_ms, 'reason', p_reason, 'checked_at', p_checked_at)))
$$;

-- ---------------------------------------------------------------------------------------
-- Recomputes the statistics buckets from p_since on (hourly from its hour, daily from its
-- day, UTC) from raw results: idempotent, a repair for the incremental rollup. Never
-- reaches back past the raw-result retention (29 days), or it would erase what only the
-- rollup still knows. Writers wait during the refresh (table lock), so none is lost.
CREATE OR REPLACE FUNCTION refresh_monitoring_statistics(
    p_since timestamptz DEFAULT now() - interval '1 day'
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    floor_at timestamptz := date_trunc('day', now() - interval '29 days', 'UTC');
    hour_from timestamptz := GREATEST(date_trunc('hour', p_since, 'UTC'), floor_at);
    day_from timestamptz := GREATEST(date_trunc('day', p_since, 'UTC'), floor_at);
    written integer;
BEGIN
    LOCK TABLE monitoring_statistics IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM monitoring_statistics s
    WHERE (s.period = 'hour' AND s.bucket_start >= hour_from)
       OR (s.period = 'day' AND s.bucket_start >= day_from);
    INSERT INTO monitoring_statistics (
        organization_id, check_id, period, bucket_start, total_checks, up_checks,
        degraded_checks, down_checks, response_count, response_sum_ms, response_histogram,
        avg_response_ms, p95_response_ms, updated_at)
    SELECT c.organization_id, r.check_id, p.period, date_trunc(p.period, r.checked_at, 'UTC'),
           count(*),
           count(*) FILTER (WHERE r.status = 0),
           count(*) FILTER (WHERE r.status = 1),
           count(*) FILTER (WHERE r.status = 2),
           count(r.response_time_ms),
           COALESCE(sum(r.response_time_ms), 0),
           monitoring_histogram(array_agg(r.response_time_ms)),
           avg(r.response_time_ms)::double precision,
           monitoring_histogram_quantile(monitoring_histogram(array_agg(r.response_time_ms)),
                                         0.95),
           now()
    FROM check_results r
    JOIN monitoring_checks c ON c.id = r.check_id
    CROSS JOIN (VALUES ('hour'), ('day')) AS p(period)
    WHERE r.checked_at >= day_from
      AND (p.period = 'day' OR r.checked_at >= hour_from)
    GROUP BY c.organization_id, r.check_id, p.period, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Retention: raw results older than p_days (30 by default) go; the rollups stay.
CREATE OR REPLACE FUNCTION cleanup_old_check_results(p_days integer DEFAULT 30)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
BEGIN
    DELETE FROM check_results
    WHERE checked_at < now() - make_interval(days => GREATEST(COALESCE(p_days, 30), 1));
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;

-- Retention of the rollups themselves: hourly buckets for 90 days, daily for 400.
CREATE OR REPLACE FUNCTION cleanup_old_monitoring_statistics(p_hourly_days integer DEFAULT 90,
                                                             p_daily_days integer DEFAULT 400)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
BEGIN
    DELETE FROM monitoring_statistics s
    WHERE (s.period = 'hour' AND s.bucket_start < now() - make_interval(days => p_hourly_days))
       OR (s.period = 'day' AND s.bucket_start < now() - make_interval(days => p_daily_days));
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS cleanup_old_monitoring_statistics(integer, integer);
DROP FUNCTION IF EXISTS cleanup_old_check_results(integer);
DROP FUNCTION IF EXISTS refresh_monitoring_statistics(timestamptz);
DROP FUNCTION IF EXISTS process_check_result(uuid, smallint, text, integer, text, timestamptz);
DROP FUNCTION IF EXISTS record_check_results(jsonb);
DROP FUNCTION IF EXISTS monitoring_open_incident(monitoring_checks, uuid, text, text[]);
DROP FUNCTION IF EXISTS monitoring_set_components(uuid, text);
DO $do$
BEGIN
    IF obj_description(to_regprocedure('check_in_maintenance(uuid, timestamptz)'), 'pg_proc')
       LIKE 'monitoring stand-in%' THEN
        DROP FUNCTION check_in_maintenance(uuid, timestamptz);
    END IF;
END
$do$;
DROP FUNCTION IF EXISTS heartbeat_due_at(jsonb, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS claim_due_checks(integer, double precision);
DROP FUNCTION IF EXISTS monitoring_histogram_quantile(integer[], double precision);
DROP FUNCTION IF EXISTS monitoring_histogram_add(integer[], integer[]);
DROP FUNCTION IF EXISTS monitoring_histogram(integer[]);
DROP FUNCTION IF EXISTS monitoring_histogram_bounds();
DROP FUNCTION IF EXISTS monitoring_status_code(text);
