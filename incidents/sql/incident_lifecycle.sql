-- Incident lifecycle rules that hold whatever writes the row (ORM, raw SQL, the sweep):
-- status timestamps, the audit trail, the timeline, and starting/stopping escalation.
--
-- Transaction settings read here:
--   app.current_user_id        who acts (set per request; see alert24/tenancy.py)
--   app.status_change_reason   why, when not a person's click ("acknowledgement timeout")

-- The policy as it is now, as JSON: escalations follow this snapshot, so editing a policy
-- never changes pages already in flight.
CREATE OR REPLACE FUNCTION escalation_policy_snapshot(p_policy_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'policy_id', p.id,
        'name', p.name,
        'repeat_count', p.repeat_count,
        'handoff_policy_id', p.handoff_policy_id,
        'rules', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'position', r.position,
                'delay_minutes', r.delay_minutes,
                'targets', COALESCE((
                    SELECT jsonb_agg(jsonb_build_object(
                        'type', t.target_type,
                        'id', COALESCE(t.user_id, t.schedule_id, t.team_id)))
                    FROM escalation_rule_targets t WHERE t.rule_id = r.id), '[]'::jsonb)
            ) ORDER BY r.position)
            FROM escalation_rules r WHERE r.policy_id = p.id), '[]'::jsonb))
    FROM escalation_policies p WHERE p.id = p_policy_id
$$;

CREATE OR REPLACE FUNCTION incident_status_change_reason() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.status_change_reason', true), '')
$$;

CREATE OR REPLACE FUNCTION incidents_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' THEN
        IF NEW.escalation_policy_id IS NULL AND NEW.service_id IS NOT NULL THEN
            SELECT s.escalation_policy_id INTO NEW.escalation_policy_id
            FROM services s WHERE s.id = NEW.service_id;
        END IF;
        NEW.triggered_at := COALESCE(NEW.triggered_at, now());
        IF NEW.status = 'acknowledged' THEN
            NEW.acknowledged_at := COALESCE(NEW.acknowledged_at, now());
        ELSIF NEW.status = 'resolved' THEN
            NEW.resolved_at := COALESCE(NEW.resolved_at, now());
        END IF;
        RETURN NEW;
    END IF;

    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF OLD.status = 'resolved' THEN
            RAISE EXCEPTION 'incident % is resolved; a new event opens a new incident', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status = 'acknowledged' THEN
            NEW.acknowledged_at := now();
            NEW.acknowledged_by_id := COALESCE(NEW.acknowledged_by_id, current_app_user_id());
        ELSIF NEW.status = 'triggered' THEN
            NEW.triggered_at := now();
            NEW.acknowledged_at := NULL;
            NEW.acknowledged_by_id := NULL;
            NEW.snoozed_until := NULL;
        ELSIF NEW.status = 'resolved' THEN
            NEW.resolved_at := now();
            NEW.resolved_by_id := COALESCE(NEW.resolved_by_id, current_app_user_id());
            NEW.snoozed_until := NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION incidents_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    actor uuid := COALESCE(NEW.created_by, current_app_user_id());
BEGIN
    INSERT INTO incident_updates (organization_id, incident_id, update_type, status, user_id,
                                  message, metadata)
    VALUES (NEW.organization_id, NEW.id, 'triggered', NEW.status, actor,
            'Incident opened (' || NEW.source || ')',
            jsonb_build_object('severity', NEW.severity, 'urgency', NEW.urgency));

    INSERT INTO user_activity_log (organization_id, user_id, activity_type, object_type,
                                   object_id, description, metadata)
    VALUES (NEW.organization_id, actor, 'incident_created', 'incidents', NEW.id,
            left(NEW.title, 500), jsonb_build_object('status', NEW.status));

    IF NEW.status = 'triggered' AND NEW.escalation_policy_id IS NOT NULL THEN
        INSERT INTO incident_escalations (organization_id, incident_id, escalation_policy_id,
                                          policy_snapshot, next_escalation_at)
        VALUES (NEW.organization_id, NEW.id, NEW.escalation_policy_id,
                escalation_policy_snapshot(NEW.escalation_policy_id), now());
    END IF;
    PERFORM pg_notify('incident_changes', json_build_object(
        'organization_id', NEW.organization_id, 'incident_id', NEW.id,
        'status', NEW.status)::text);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION incidents_after_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    actor uuid := current_app_user_id();
    reason text := incident_status_change_reason();
    words text;
BEGIN
    IF NEW.status = 'acknowledged' THEN
        actor := COALESCE(actor, NEW.acknowledged_by_id);
        words := 'Acknowledged';
    ELSIF NEW.status = 'resolved' THEN
        actor := COALESCE(actor, NEW.resolved_by_id);
        words := 'Resolved';
    ELSE
        words := 'Re-triggered';
    END IF;
    IF reason IS NOT NULL THEN
        words := words || ': ' || reason;
    END IF;

    INSERT INTO user_activity_log (organization_id, user_id, activity_type, object_type,
                                   object_id, description, metadata)
    VALUES (NEW.organization_id, actor, 'incident_status_changed', 'incidents', NEW.id, words,
            jsonb_build_object('from', OLD.status, 'to', NEW.status, 'reason', reason));

    INSERT INTO incident_updates (organization_id, incident_id, update_type, status, user_id,
                                  message, metadata)
    VALUES (NEW.organization_id, NEW.id, 'status_change', NEW.status, actor, words,
            jsonb_build_object('from', OLD.status, 'to', NEW.status, 'reason', reason));

    IF NEW.status IN ('acknowledged', 'resolved') THEN
        -- Stop escalating, and take back pages not yet handed to delivery.
        UPDATE incident_escalations SET status = 'completed', updated_at = now()
        WHERE incident_id = NEW.id AND status = 'pending';
        UPDATE incident_notifications SET status = 'cancelled'
        WHERE incident_id = NEW.id AND status = 'queued';
    ELSIF NEW.status = 'triggered' THEN
        -- Back to triggered (acknowledgement timeout, snooze over): escalate from the start.
        UPDATE incident_escalations
        SET status = 'pending', current_level = 0, repetition = 0, handoffs = 0,
            cycle = cycle + 1, next_escalation_at = now(), updated_at = now()
        WHERE incident_id = NEW.id;
    END IF;
    PERFORM pg_notify('incident_changes', json_build_object(
        'organization_id', NEW.organization_id, 'incident_id', NEW.id,
        'status', NEW.status)::text);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS incidents_before_write ON incidents;
CREATE TRIGGER incidents_before_write BEFORE INSERT OR UPDATE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_before_write();

DROP TRIGGER IF EXISTS incidents_after_insert ON incidents;
CREATE TRIGGER incidents_after_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_after_insert();

DROP TRIGGER IF EXISTS incidents_after_status_change ON incidents;
CREATE TRIGGER incidents_after_status_change AFTER UPDATE OF status ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION incidents_after_status_change();

-- A hand-off chain must never lead back to where it started.
CREATE OR REPLACE FUNCTION escalation_policies_no_handoff_loop() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.handoff_policy_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE chain(id, depth) AS (
            SELECT NEW.handoff_policy_id, 1
            UNION ALL
            SELECT p.handoff_policy_id, c.depth + 1
            FROM chain c JOIN escalation_policies p ON p.id = c.id
            WHERE p.handoff_policy_id IS NOT NULL AND c.depth < 100
        )
        SELECT 1 FROM chain WHERE id = NEW.id
    ) THEN
        RAISE EXCEPTION 'escalation policy % would hand off to itself', NEW.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS escalation_policies_no_handoff_loop ON escalation_policies;
CREATE TRIGGER escalation_policies_no_handoff_loop
    BEFORE INSERT OR UPDATE OF handoff_policy_id ON escalation_policies
    FOR EACH ROW EXECUTE FUNCTION escalation_policies_no_handoff_loop();
-- reverse
DROP TRIGGER IF EXISTS escalation_policies_no_handoff_loop ON escalation_policies;
DROP FUNCTION IF EXISTS escalation_policies_no_handoff_loop();
DROP TRIGGER IF EXISTS incidents_after_status_change ON incidents;
DROP TRIGGER IF EXISTS incidents_after_insert ON incidents;
DROP TRIGGER IF EXISTS incidents_before_write ON incidents;
DROP FUNCTION IF EXISTS incidents_after_status_change();
DROP FUNCTION IF EXISTS incidents_after_insert();
DROP FUNCTION IF EXISTS incidents_before_write();
DROP FUNCTION IF EXISTS incident_status_change_reason();
DROP FUNCTION IF EXISTS escalation_policy_snapshot(uuid);
