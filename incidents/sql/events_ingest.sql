-- One event from an integration (PagerDuty Events API v2, Alertmanager), applied in one
-- statement: the ingest hot path makes a single database round trip per event, and the
-- event is durable when that statement commits, before the HTTP answer goes out.
--
-- The caller is nobody's member: the integration key is the credential. The key is
-- resolved on the narrow system path (service_for_integration_key, SECURITY DEFINER); the
-- rest runs as the app role (p_app_role) for the key's organization, so row-level security
-- applies to every write, exactly as in a web request. The caller's role and settings are
-- restored before returning (an error rolls them back with the statement).
--
-- p_action: trigger | acknowledge | resolve | change. Outcomes:
--   unknown_key    no integration has this key (nothing written)
--   opened         a trigger opened a new incident (incident, opened = true)
--   deduplicated   a trigger folded into the open incident with the same dedup key
--   dropped        a trigger for a disabled service (audit log entry only)
--   acknowledged / resolved   the open incident with the dedup key changed status
--   unchanged      acknowledge/resolve with no open incident to change (PagerDuty accepts it)
--   recorded       a change event, written to the audit log
-- Concurrent triggers with one dedup key make one incident (open_incident); concurrent
-- acknowledge/resolve re-check the status after waiting for the row lock (READ COMMITTED
-- re-evaluates the UPDATE's WHERE), so a resolved incident is never re-opened.
CREATE OR REPLACE FUNCTION apply_integration_event(
    p_app_role text,
    p_integration_key text,
    p_action text,
    p_dedup_key text DEFAULT NULL,
    p_title text DEFAULT '',
    p_severity text DEFAULT 'high',
    p_source text DEFAULT 'events',
    p_details jsonb DEFAULT '{}'::jsonb,
    p_description text DEFAULT '',
    p_reason text DEFAULT NULL
) RETURNS TABLE (outcome text, incident uuid, opened boolean)
LANGUAGE plpgsql AS $$
DECLARE
    route record;
    previous_role text := current_setting('role');
    previous_org text := current_setting('app.current_organization_id', true);
    previous_user text := current_setting('app.current_user_id', true);
    previous_reason text := current_setting('app.status_change_reason', true);
    target text;
BEGIN
    outcome := 'unknown_key';
    opened := false;
    SELECT * INTO route FROM service_for_integration_key(p_integration_key);
    IF NOT FOUND THEN
        RETURN NEXT;
        RETURN;
    END IF;

    PERFORM set_config('role', p_app_role, true),
            set_config('app.current_organization_id', route.organization_id::text, true),
            set_config('app.current_user_id', '', true),
            set_config('app.status_change_reason', COALESCE(p_reason, ''), true);

    IF p_action = 'trigger' THEN
        IF route.service_status <> 'active' THEN
            -- PagerDuty drops events for a disabled service; the audit log says so.
            INSERT INTO user_activity_log (organization_id, activity_type, object_type,
                                           object_id, description, metadata)
            VALUES (route.organization_id, 'events.dropped', 'service', route.service_id,
                    'Event for a disabled service: ' || left(p_title, 200), p_details);
            outcome := 'dropped';
        ELSE
            SELECT o.incident_id, o.created INTO incident, opened
            FROM open_incident(route.service_id, p_title, p_description, p_severity,
                               p_dedup_key, p_source, p_details) o;
            outcome := CASE WHEN opened THEN 'opened' ELSE 'deduplicated' END;
        END IF;
    ELSIF p_action IN ('acknowledge', 'resolve') THEN
        target := CASE p_action WHEN 'acknowledge' THEN 'acknowledged' ELSE 'resolved' END;
        UPDATE incidents i SET status = target
        WHERE i.service_id = route.service_id AND i.dedup_key = p_dedup_key
          AND i.status NOT IN ('resolved', target)
        RETURNING i.id INTO incident;
        outcome := CASE WHEN incident IS NULL THEN 'unchanged' ELSE target END;
    ELSIF p_action = 'change' THEN
        INSERT INTO user_activity_log (organization_id, activity_type, object_type, object_id,
                                       description, metadata)
        VALUES (route.organization_id, 'events.change', 'service', route.service_id,
                left(p_title, 1000), p_details);
        outcome := 'recorded';
    ELSE
        RAISE EXCEPTION 'unknown event action %', p_action USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM set_config('role', previous_role, true),
            set_config('app.current_organization_id', COALESCE(previous_org, ''), true),
            set_config('app.current_user_id', COALESCE(previous_user, ''), true),
            set_config('app.status_change_reason', COALESCE(previous_reason, ''), true);
    RETURN NEXT;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS apply_integration_event(text, text, text, text, text, text, text, jsonb,
                                                text, text);
