-- Outgoing webhooks: triggers write the event and one delivery row per subscribed endpoint
-- in the transaction that makes the change, whoever makes it (ORM, REST, Events API,
-- open_incident(), process_incident_timeouts(), record_check_results(), psql). A committed
-- change therefore always has its event; a rolled-back one never does. Python (webhooks/
-- delivery.py) only sends what is here.
--
-- Cost when nobody listens: one probe of the partial index webhook_endpoints_on_idx.
-- Triggers run as the invoking role: under the app role, RLS lets them write rows only for
-- the organization the change belongs to.

-- Timestamps in payloads: UTC, ISO 8601 with a Z, whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION webhook_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION webhook_wanted(p_organization_id uuid, p_event_type text)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM webhook_endpoints e
                   WHERE e.organization_id = p_organization_id AND e.enabled
                     AND p_event_type = ANY (e.event_types))
$$;

-- The outbox write: the event (its payload is the exact body sent) and a delivery for every
-- enabled endpoint subscribed to the type. Returns the event id, NULL when nobody listens.
CREATE OR REPLACE FUNCTION webhook_enqueue(p_organization_id uuid, p_event_type text,
                                           p_data jsonb)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_event uuid := gen_random_uuid();
    v_at timestamptz := clock_timestamp();  -- orders several events of one transaction
BEGIN
    IF NOT webhook_wanted(p_organization_id, p_event_type) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_events (id, organization_id, event_type, payload, created_at)
    VALUES (v_event, p_organization_id, p_event_type, jsonb_build_object(
        'id', v_event,
        'type', p_event_type,
        'created_at', webhook_time(v_at),
        'organization', (SELECT jsonb_build_object('id', o.id, 'slug', o.slug, 'name', o.name)
                         FROM organizations o WHERE o.id = p_organization_id),
        'data', p_data), v_at);
    INSERT INTO webhook_deliveries (organization_id, event_id, endpoint_id)
    SELECT p_organization_id, v_event, e.id
    FROM webhook_endpoints e
    WHERE e.organization_id = p_organization_id AND e.enabled
      AND p_event_type = ANY (e.event_types);
    RETURN v_event;
END
$$;

CREATE OR REPLACE FUNCTION webhook_user(p_user_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'email', u.email,
                              'name', COALESCE(NULLIF(u.full_name, ''), u.email))
    FROM users u WHERE u.id = p_user_id
$$;

CREATE OR REPLACE FUNCTION webhook_incident(i incidents) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', i.id,
        'title', i.title,
        'description', i.description,
        'status', i.status,
        'severity', i.severity,
        'urgency', i.urgency,
        'priority', NULLIF(i.priority, ''),
        'source', i.source,
        'dedup_key', i.dedup_key,
        'service', (SELECT jsonb_build_object('id', s.id, 'name', s.name)
                    FROM services s WHERE s.id = i.service_id),
        'assignees', COALESCE((SELECT jsonb_agg(webhook_user(a.user_id) ORDER BY a.created_at)
                               FROM incident_assignments a WHERE a.incident_id = i.id),
                              '[]'::jsonb),
        'acknowledged_by', webhook_user(i.acknowledged_by_id),
        'resolved_by', webhook_user(i.resolved_by_id),
        'triggered_at', webhook_time(i.triggered_at),
        'acknowledged_at', webhook_time(i.acknowledged_at),
        'resolved_at', webhook_time(i.resolved_at),
        'created_at', webhook_time(i.created_at))
$$;

-- incident.triggered / acknowledged / unacknowledged / resolved.
CREATE OR REPLACE FUNCTION webhooks_incident_status() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := CASE NEW.status
        WHEN 'acknowledged' THEN 'incident.acknowledged'
        WHEN 'resolved' THEN 'incident.resolved'
        ELSE CASE WHEN TG_OP = 'UPDATE' THEN 'incident.unacknowledged'
                  ELSE 'incident.triggered' END
    END;
BEGIN
    IF webhook_wanted(NEW.organization_id, v_type) THEN
        PERFORM webhook_enqueue(NEW.organization_id, v_type, jsonb_build_object(
            'incident', webhook_incident(NEW),
            'previous_status', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
            'reason', incident_status_change_reason(),
            'actor', webhook_user(COALESCE(current_app_user_id(),
                                           CASE WHEN TG_OP = 'INSERT' THEN NEW.created_by END))));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS webhooks_incident_opened ON incidents;
CREATE TRIGGER webhooks_incident_opened AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION webhooks_incident_status();
DROP TRIGGER IF EXISTS webhooks_incident_status_changed ON incidents;
CREATE TRIGGER webhooks_incident_status_changed AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION webhooks_incident_status();

-- incident.reassigned / incident.escalated: every path writes its timeline entry, so the
-- timeline is where they are caught (reassign in the UI/REST, the escalation sweep in SQL).
CREATE OR REPLACE FUNCTION webhooks_incident_timeline() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type text := CASE NEW.update_type WHEN 'assignment' THEN 'incident.reassigned'
                                        ELSE 'incident.escalated' END;
    v_incident incidents%ROWTYPE;
BEGIN
    IF webhook_wanted(NEW.organization_id, v_type) THEN
        SELECT * INTO v_incident FROM incidents WHERE id = NEW.incident_id;
        IF FOUND THEN
            PERFORM webhook_enqueue(NEW.organization_id, v_type, jsonb_build_object(
                'incident', webhook_incident(v_incident),
                'message', NEW.message,
                'details', NEW.metadata,
                'actor', webhook_user(COALESCE(NEW.user_id, current_app_user_id()))));
        END IF;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS webhooks_incident_timeline ON incident_updates;
CREATE TRIGGER webhooks_incident_timeline AFTER INSERT ON incident_updates
    FOR EACH ROW WHEN (NEW.update_type IN ('assignment', 'escalation'))
    EXECUTE FUNCTION webhooks_incident_timeline();

-- monitor.down / monitor.up. Deferred to commit so the payload has the alert's final state
-- in that transaction (record_check_results() links the incident after inserting the alert).
CREATE OR REPLACE FUNCTION webhooks_monitoring_alert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_type text;
    a monitoring_alerts%ROWTYPE;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_type := 'monitor.down';
    ELSIF OLD.status IS DISTINCT FROM NEW.status AND NEW.status = 'resolved' THEN
        v_type := 'monitor.up';
    ELSE
        RETURN NULL;
    END IF;
    IF NOT webhook_wanted(NEW.organization_id, v_type) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO a FROM monitoring_alerts WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM webhook_enqueue(a.organization_id, v_type, jsonb_build_object(
        'monitor', (SELECT jsonb_build_object(
                        'id', c.id, 'name', c.name, 'type', c.check_type,
                        'target', COALESCE(c.config->>'url', c.config->>'host',
                                           c.config->>'hostname', c.config->>'domain'),
                        'service_id', c.service_id)
                    FROM monitoring_checks c WHERE c.id = a.check_id),
        'alert', jsonb_build_object(
            'id', a.id,
            'status', CASE v_type WHEN 'monitor.down' THEN 'open' ELSE 'resolved' END,
            'opened_at', webhook_time(a.opened_at),
            'resolved_at', CASE v_type WHEN 'monitor.up' THEN webhook_time(a.resolved_at) END,
            'failure_reason', a.failure_reason,
            'confirmed_locations', to_jsonb(a.confirmed_locations),
            'incident_id', a.incident_id),
        'down_for_seconds', CASE v_type WHEN 'monitor.up' THEN
            GREATEST(round(extract(epoch FROM a.resolved_at - a.opened_at)), 0)::bigint END));
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS webhooks_monitoring_alert ON monitoring_alerts;
CREATE CONSTRAINT TRIGGER webhooks_monitoring_alert
    AFTER INSERT OR UPDATE OF status ON monitoring_alerts
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION webhooks_monitoring_alert();

-- status_page.incident_updated: each entry of a status-page incident's public timeline
-- (publishing writes the first). Deferred so the affected components are in place.
CREATE OR REPLACE FUNCTION webhooks_status_page_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    u status_page_incident_updates%ROWTYPE;
BEGIN
    IF NOT webhook_wanted(NEW.organization_id, 'status_page.incident_updated') THEN
        RETURN NULL;
    END IF;
    SELECT * INTO u FROM status_page_incident_updates WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM webhook_enqueue(u.organization_id, 'status_page.incident_updated',
        (SELECT jsonb_build_object(
            'status_page', jsonb_build_object('id', p.id, 'name', p.name, 'slug', p.slug),
            'incident', jsonb_build_object(
                'id', i.id, 'name', i.name, 'status', i.status, 'impact', i.impact,
                'started_at', webhook_time(i.started_at),
                'monitoring_at', webhook_time(i.monitoring_at),
                'resolved_at', webhook_time(i.resolved_at),
                'components', COALESCE((
                    SELECT jsonb_agg(jsonb_build_object('id', c.id, 'name', c.name,
                                                        'status', ic.status) ORDER BY c.name)
                    FROM status_page_incident_components ic
                    JOIN status_page_components c ON c.id = ic.component_id
                    WHERE ic.status_page_incident_id = i.id), '[]'::jsonb)),
            'update', jsonb_build_object(
                'id', u.id, 'status', u.status, 'body', u.body,
                'display_at', webhook_time(u.display_at),
                'affected_components', u.affected_components),
            'created', NOT EXISTS (SELECT 1 FROM status_page_incident_updates o
                                   WHERE o.status_page_incident_id = i.id AND o.id <> u.id
                                     AND (o.created_at, o.id) < (u.created_at, u.id)),
            'actor', webhook_user(u.created_by_id))
         FROM status_page_incidents i
         JOIN status_pages p ON p.id = i.status_page_id
         WHERE i.id = u.status_page_incident_id));
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS webhooks_status_page_update ON status_page_incident_updates;
CREATE CONSTRAINT TRIGGER webhooks_status_page_update
    AFTER INSERT ON status_page_incident_updates
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION webhooks_status_page_update();
-- reverse
DROP TRIGGER IF EXISTS webhooks_status_page_update ON status_page_incident_updates;
DROP FUNCTION IF EXISTS webhooks_status_page_update();
DROP TRIGGER IF EXISTS webhooks_monitoring_alert ON monitoring_alerts;
DROP FUNCTION IF EXISTS webhooks_monitoring_alert();
DROP TRIGGER IF EXISTS webhooks_incident_timeline ON incident_updates;
DROP FUNCTION IF EXISTS webhooks_incident_timeline();
DROP TRIGGER IF EXISTS webhooks_incident_status_changed ON incidents;
DROP TRIGGER IF EXISTS webhooks_incident_opened ON incidents;
DROP FUNCTION IF EXISTS webhooks_incident_status();
DROP FUNCTION IF EXISTS webhook_incident(incidents);
DROP FUNCTION IF EXISTS webhook_user(uuid);
DROP FUNCTION IF EXISTS webhook_enqueue(uuid, text, jsonb);
DROP FUNCTION IF EXISTS webhook_wanted(uuid, text);
DROP FUNCTION IF EXISTS webhook_time(timestamptz);
