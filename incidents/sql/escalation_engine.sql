-- The escalation engine: opening incidents, timeouts, and the escalation sweep.
-- Celery beat calls process_incident_timeouts() and process_pending_escalations() every few
-- seconds (incidents/tasks.py); both are also callable verbatim from psql.

-- Who a level's targets mean right now: users directly, whoever is on call in a schedule,
-- every member of a team; only active users who still belong to the organization.
CREATE OR REPLACE FUNCTION escalation_targets_users(
    p_organization_id uuid, p_targets jsonb, p_at timestamptz DEFAULT now()
) RETURNS uuid[]
-- PL/pgSQL rather than SQL so its plan is cached across the sweep's many calls.
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result uuid[];
BEGIN
    SELECT COALESCE(array_agg(DISTINCT candidate.user_id), '{}') INTO result
    FROM (
        SELECT (t->>'id')::uuid AS user_id
        FROM jsonb_array_elements(COALESCE(p_targets, '[]'::jsonb)) t
        WHERE t->>'type' = 'user'
        UNION ALL
        SELECT on_call_user((t->>'id')::uuid, p_at)
        FROM jsonb_array_elements(COALESCE(p_targets, '[]'::jsonb)) t
        WHERE t->>'type' = 'schedule'
        UNION ALL
        SELECT tm.user_id
        FROM jsonb_array_elements(COALESCE(p_targets, '[]'::jsonb)) t
        JOIN team_memberships tm ON tm.team_id = (t->>'id')::uuid
        WHERE t->>'type' = 'team'
    ) candidate
    JOIN users u ON u.id = candidate.user_id AND u.is_active
    JOIN organization_members m ON m.user_id = u.id AND m.organization_id = p_organization_id;
    RETURN result;
END
$$;

-- Advance every due escalation by one step. Safe to run from any number of workers at once:
-- rows are claimed with FOR UPDATE SKIP LOCKED, and each page is a unique
-- (incident, user, cycle, level, loop) row inserted with ON CONFLICT DO NOTHING.
-- A level with nobody to notify falls through to the next one rather than paging nobody.
CREATE OR REPLACE FUNCTION process_pending_escalations(p_limit integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    esc incident_escalations%ROWTYPE;
    inc record;
    snapshot jsonb;
    rules jsonb;
    rule jsonb;
    rule_count integer;
    level integer;
    lap integer;
    handoff_count integer;
    recipients uuid[];
    unreachable uuid[];
    processed integer := 0;
BEGIN
    FOR esc IN
        SELECT * FROM incident_escalations
        WHERE status = 'pending' AND next_escalation_at <= now()
        ORDER BY next_escalation_at
        LIMIT GREATEST(COALESCE(p_limit, 1000), 1)
        FOR UPDATE SKIP LOCKED
    LOOP
        processed := processed + 1;
        SELECT i.status, i.urgency INTO inc FROM incidents i WHERE i.id = esc.incident_id;
        IF inc.status IS DISTINCT FROM 'triggered' THEN
            UPDATE incident_escalations SET status = 'completed', updated_at = now()
            WHERE id = esc.id;
            CONTINUE;
        END IF;

        snapshot := COALESCE(esc.policy_snapshot, '{}'::jsonb);
        level := esc.current_level;
        lap := esc.repetition;
        handoff_count := esc.handoffs;
        LOOP
            rules := COALESCE(snapshot->'rules', '[]'::jsonb);
            rule_count := jsonb_array_length(rules);
            IF level >= rule_count THEN
                IF rule_count > 0 AND lap < COALESCE((snapshot->>'repeat_count')::integer, 0) THEN
                    lap := lap + 1;
                    level := 0;
                ELSIF snapshot->>'handoff_policy_id' IS NOT NULL AND handoff_count < 10 THEN
                    snapshot := escalation_policy_snapshot((snapshot->>'handoff_policy_id')::uuid);
                    IF snapshot IS NULL THEN
                        snapshot := '{}'::jsonb;
                    END IF;
                    handoff_count := handoff_count + 1;
                    level := 0;
                    lap := 0;
                    INSERT INTO incident_updates (organization_id, incident_id, update_type,
                                                  message, metadata)
                    VALUES (esc.organization_id, esc.incident_id, 'escalation',
                            'Handed off to escalation policy ' || COALESCE(snapshot->>'name', '?'),
                            jsonb_build_object('policy_id', snapshot->>'policy_id'));
                ELSE
                    UPDATE incident_escalations
                    SET status = 'exhausted', current_level = level, repetition = lap,
                        handoffs = handoff_count, policy_snapshot = snapshot, updated_at = now()
                    WHERE id = esc.id;
                    INSERT INTO incident_updates (organization_id, incident_id, update_type,
                                                  message, metadata)
                    VALUES (esc.organization_id, esc.incident_id, 'escalation',
                            'Escalation policy exhausted: nobody acknowledged',
                            jsonb_build_object('loop', lap));
                    EXIT;
                END IF;
                CONTINUE;
            END IF;

            rule := rules->level;
            recipients := escalation_targets_users(esc.organization_id, rule->'targets', now());
            -- Someone with no contact method cannot be paged: say so, and page the rest.
            unreachable := ARRAY(
                SELECT r FROM unnest(recipients) r
                WHERE NOT EXISTS (SELECT 1 FROM user_contact_methods c WHERE c.user_id = r));
            IF cardinality(unreachable) > 0 THEN
                INSERT INTO incident_updates (organization_id, incident_id, update_type,
                                              message, metadata)
                VALUES (esc.organization_id, esc.incident_id, 'escalation',
                        'Cannot page ' || (SELECT string_agg(COALESCE(NULLIF(u.full_name, ''),
                                                                      u.email), ', ')
                                           FROM users u WHERE u.id = ANY(unreachable))
                        || ': no contact method',
                        jsonb_build_object('level', level, 'unreachable', to_jsonb(unreachable)));
                recipients := ARRAY(SELECT r FROM unnest(recipients) r WHERE r <> ALL(unreachable));
            END IF;
            IF cardinality(recipients) = 0 THEN
                INSERT INTO incident_updates (organization_id, incident_id, update_type,
                                              message, metadata)
                VALUES (esc.organization_id, esc.incident_id, 'escalation',
                        format('Level %s has nobody to notify; escalating further', level + 1),
                        jsonb_build_object('level', level, 'loop', lap));
                level := level + 1;
                CONTINUE;
            END IF;

            INSERT INTO incident_notifications (organization_id, incident_id, user_id, reason,
                                                cycle, escalation_level, repetition, urgency)
            SELECT esc.organization_id, esc.incident_id, recipient, 'escalation', esc.cycle,
                   level, lap, inc.urgency
            FROM unnest(recipients) AS recipient
            ON CONFLICT DO NOTHING;
            INSERT INTO incident_updates (organization_id, incident_id, update_type, message,
                                          metadata)
            VALUES (esc.organization_id, esc.incident_id, 'escalation',
                    format('Escalated to level %s%s: notifying %s', level + 1,
                           CASE WHEN lap > 0 THEN format(' (repeat %s)', lap) ELSE '' END,
                           (SELECT string_agg(COALESCE(NULLIF(u.full_name, ''), u.email), ', '
                                              ORDER BY u.email)
                            FROM users u WHERE u.id = ANY(recipients))),
                    jsonb_build_object('level', level, 'loop', lap, 'cycle', esc.cycle,
                                       'users', to_jsonb(recipients)));
            UPDATE incident_escalations
            SET current_level = level + 1, repetition = lap, handoffs = handoff_count,
                policy_snapshot = snapshot,
                next_escalation_at = now()
                    + make_interval(mins => COALESCE((rule->>'delay_minutes')::integer, 30)),
                last_escalated_at = now(), updated_at = now()
            WHERE id = esc.id;
            EXIT;
        END LOOP;
    END LOOP;
    RETURN processed;
END
$$;

-- Acknowledgement timeouts and snoozes return incidents to triggered; auto-resolve closes
-- incidents left open too long. Per-service settings, as PagerDuty has them.
CREATE OR REPLACE FUNCTION process_incident_timeouts() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    retriggered integer;
    snoozed integer;
    resolved integer;
BEGIN
    PERFORM set_config('app.status_change_reason', 'snooze ended', true);
    UPDATE incidents SET status = 'triggered'
    WHERE status = 'acknowledged' AND snoozed_until IS NOT NULL AND snoozed_until <= now();
    GET DIAGNOSTICS snoozed = ROW_COUNT;

    PERFORM set_config('app.status_change_reason', 'acknowledgement timed out', true);
    UPDATE incidents i SET status = 'triggered'
    FROM services s
    WHERE i.service_id = s.id AND i.status = 'acknowledged' AND i.snoozed_until IS NULL
      AND s.acknowledgement_timeout IS NOT NULL
      AND i.acknowledged_at <= now() - make_interval(secs => s.acknowledgement_timeout);
    GET DIAGNOSTICS retriggered = ROW_COUNT;

    PERFORM set_config('app.status_change_reason', 'auto-resolved after timeout', true);
    UPDATE incidents i SET status = 'resolved'
    FROM services s
    WHERE i.service_id = s.id AND i.status <> 'resolved'
      AND s.auto_resolve_timeout IS NOT NULL
      AND i.triggered_at <= now() - make_interval(secs => s.auto_resolve_timeout);
    GET DIAGNOSTICS resolved = ROW_COUNT;

    PERFORM set_config('app.status_change_reason', '', true);
    RETURN snoozed + retriggered + resolved;
END
$$;

-- Open an incident on a service, or fold the event into the open incident with the same
-- dedup key. Used by the UI, monitoring and the events endpoints alike. Concurrent callers
-- with one dedup key get one incident: the partial unique index decides, and the loser
-- reads the winner's row.
CREATE OR REPLACE FUNCTION open_incident(
    p_service_id uuid,
    p_title text,
    p_description text DEFAULT '',
    p_severity text DEFAULT 'high',
    p_dedup_key text DEFAULT NULL,
    p_source text DEFAULT 'manual',
    p_details jsonb DEFAULT '{}'::jsonb,
    p_created_by uuid DEFAULT NULL,
    p_urgency text DEFAULT NULL
) RETURNS TABLE (incident_id uuid, created boolean, incident_status text)
LANGUAGE plpgsql AS $$
DECLARE
    svc services%ROWTYPE;
    found_id uuid;
    found_status text;
    new_id uuid;
    attempt integer := 0;
BEGIN
    SELECT * INTO svc FROM services WHERE id = p_service_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'service % does not exist', p_service_id USING ERRCODE = 'no_data_found';
    END IF;
    IF svc.status <> 'active' THEN
        RAISE EXCEPTION 'service % is disabled', svc.name USING ERRCODE = 'check_violation';
    END IF;
    IF p_title IS NULL OR btrim(p_title) = '' THEN
        RAISE EXCEPTION 'an incident needs a title' USING ERRCODE = 'not_null_violation';
    END IF;

    LOOP
        attempt := attempt + 1;
        IF p_dedup_key IS NOT NULL THEN
            SELECT i.id, i.status INTO found_id, found_status FROM incidents i
            WHERE i.service_id = p_service_id AND i.dedup_key = p_dedup_key
              AND i.status <> 'resolved';
            IF found_id IS NOT NULL THEN
                INSERT INTO incident_updates (organization_id, incident_id, update_type,
                                              message, user_id, metadata)
                VALUES (svc.organization_id, found_id, 'dedup',
                        'Duplicate event: ' || left(p_title, 500), p_created_by,
                        jsonb_build_object('source', p_source, 'details',
                                           COALESCE(p_details, '{}'::jsonb)));
                RETURN QUERY SELECT found_id, false, found_status;
                RETURN;
            END IF;
        END IF;

        INSERT INTO incidents (organization_id, service_id, title, description, severity,
                               urgency, source, dedup_key, details, created_by)
        VALUES (svc.organization_id, p_service_id, left(p_title, 1024),
                COALESCE(p_description, ''), COALESCE(p_severity, 'high'),
                COALESCE(p_urgency, CASE svc.urgency_rule
                    WHEN 'low' THEN 'low'
                    WHEN 'severity_based' THEN
                        CASE WHEN COALESCE(p_severity, 'high') IN ('critical', 'high')
                             THEN 'high' ELSE 'low' END
                    ELSE 'high' END),
                COALESCE(p_source, 'manual'), p_dedup_key, COALESCE(p_details, '{}'::jsonb),
                p_created_by)
        ON CONFLICT (service_id, dedup_key) WHERE dedup_key IS NOT NULL AND NOT status = 'resolved'
        DO NOTHING
        RETURNING id INTO new_id;
        IF new_id IS NOT NULL THEN
            RETURN QUERY SELECT new_id, true, 'triggered'::text;
            RETURN;
        END IF;
        IF attempt >= 5 THEN
            RAISE EXCEPTION 'could not open or find incident for dedup key %', p_dedup_key;
        END IF;
    END LOOP;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS open_incident(uuid, text, text, text, text, text, jsonb, uuid, text);
DROP FUNCTION IF EXISTS process_incident_timeouts();
DROP FUNCTION IF EXISTS process_pending_escalations(integer);
DROP FUNCTION IF EXISTS escalation_targets_users(uuid, jsonb, timestamptz);
