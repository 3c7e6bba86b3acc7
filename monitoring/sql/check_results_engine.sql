-- The monitoring engine on the partitioned check_results (check_results_partitioned.sql):
-- results are stored under the check's series_id. Retention of raw results and of the
-- rollups is cleanup_old_data()'s (alert24/sql/data_lifecycle_partitions.sql), the one path,
-- so cleanup_old_check_results() goes.

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

    -- Stored under the check's series_id. The key is (check, time): a second result of one
    -- check at the very same microsecond is the same run delivered twice and is not stored
    -- again (it cannot fail the batch).
    INSERT INTO check_results (series_id, checked_at, location_id, status, response_time_ms,
                               reason)
    SELECT c.series_id, COALESCE(x.checked_at, now()), x.location_id,
           monitoring_status_code(x.status), x.response_time_ms,
           CASE WHEN x.status <> 'up' THEN NULLIF(left(x.reason, 1000), '') END
    FROM jsonb_to_recordset(p_results) AS x(check_id uuid, location_id smallint,
                                            checked_at timestamptz, status text,
                                            response_time_ms integer, reason text)
    JOIN monitoring_checks c ON c.id = x.check_id
    ON CONFLICT (series_id, checked_at) DO NOTHING;

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
    SELECT c.organization_id, c.id, p.period, date_trunc(p.period, r.checked_at, 'UTC'),
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
    JOIN monitoring_checks c ON c.series_id = r.series_id
    CROSS JOIN (VALUES ('hour'), ('day')) AS p(period)
    WHERE r.checked_at >= day_from
      AND (p.period = 'day' OR r.checked_at >= hour_from)
    GROUP BY c.organization_id, c.id, p.period, 4;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

DROP FUNCTION IF EXISTS cleanup_old_check_results(integer);
