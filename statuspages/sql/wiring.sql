-- Status-page wiring that must hold whatever writes the rows (ORM, psql, monitoring):
--   * every change of anything a page shows bumps status_pages.content_version (the ETag
--     and cache key of the public page and JSON API);
--   * every component status change is recorded in component_status_history;
--   * a component's status is recomputed from everything that can hold it — open incidents
--     on linked services, open published incidents, the monitoring check, active maintenance —
--     and the worst wins; nothing holding it means operational.
--
-- Transaction setting read here:
--   app.component_status_reason   why a status changed, for the history row

-- Worst first: an outage outranks maintenance, maintenance outranks operational.
CREATE OR REPLACE FUNCTION component_status_rank(p_status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_status
        WHEN 'major_outage' THEN 4
        WHEN 'partial_outage' THEN 3
        WHEN 'degraded_performance' THEN 2
        WHEN 'under_maintenance' THEN 1
        ELSE 0 END
$$;

-- The component status an open incident of this severity holds its components at.
CREATE OR REPLACE FUNCTION incident_severity_component_status(p_severity text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_severity
        WHEN 'critical' THEN 'major_outage'
        WHEN 'high' THEN 'partial_outage'
        ELSE 'degraded_performance' END
$$;

-- Something shown on the page changed: new version, so caches and ETags move on.
CREATE OR REPLACE FUNCTION status_page_touch(p_page_id uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE status_pages SET content_version = content_version + 1, updated_at = now()
    WHERE id = p_page_id
$$;

CREATE OR REPLACE FUNCTION status_pages_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        IF NEW.content_version = OLD.content_version THEN
            NEW.content_version := OLD.content_version + 1;
        END IF;
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS status_pages_version ON status_pages;
CREATE TRIGGER status_pages_version BEFORE UPDATE ON status_pages
    FOR EACH ROW EXECUTE FUNCTION status_pages_before_update();

-- Generic: any row with a status_page_id changed, so its page did.
CREATE OR REPLACE FUNCTION status_page_child_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW IS NOT DISTINCT FROM OLD THEN
            RETURN NULL;
        END IF;
        IF NEW.status_page_id IS DISTINCT FROM OLD.status_page_id THEN
            PERFORM status_page_touch(OLD.status_page_id);
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM status_page_touch(OLD.status_page_id);
    ELSE
        PERFORM status_page_touch(NEW.status_page_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION status_page_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS status_page_component_groups_touch ON status_page_component_groups;
CREATE TRIGGER status_page_component_groups_touch
    AFTER INSERT OR UPDATE OR DELETE ON status_page_component_groups
    FOR EACH ROW EXECUTE FUNCTION status_page_child_touch();
DROP TRIGGER IF EXISTS status_page_component_groups_updated ON status_page_component_groups;
CREATE TRIGGER status_page_component_groups_updated BEFORE UPDATE ON status_page_component_groups
    FOR EACH ROW EXECUTE FUNCTION status_page_set_updated_at();

-- Components: history of every status change, and the page's version.
CREATE OR REPLACE FUNCTION status_page_components_after_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    why text := NULLIF(current_setting('app.component_status_reason', true), '');
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM status_page_touch(OLD.status_page_id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        -- clock_timestamp(): two changes in one transaction keep their order.
        INSERT INTO component_status_history (organization_id, component_id, status_page_id,
                                              old_status, new_status, reason, changed_at)
        VALUES (NEW.organization_id, NEW.id, NEW.status_page_id,
                CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
                left(COALESCE(why, CASE WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'manual' END),
                     200),
                clock_timestamp());
    END IF;
    IF TG_OP = 'INSERT' OR NEW IS DISTINCT FROM OLD THEN
        PERFORM status_page_touch(NEW.status_page_id);
        IF TG_OP = 'UPDATE' AND NEW.status_page_id IS DISTINCT FROM OLD.status_page_id THEN
            PERFORM status_page_touch(OLD.status_page_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS status_page_components_history ON status_page_components;
CREATE TRIGGER status_page_components_history
    AFTER INSERT OR UPDATE OR DELETE ON status_page_components
    FOR EACH ROW EXECUTE FUNCTION status_page_components_after_write();
DROP TRIGGER IF EXISTS status_page_components_updated ON status_page_components;
CREATE TRIGGER status_page_components_updated BEFORE UPDATE ON status_page_components
    FOR EACH ROW EXECUTE FUNCTION status_page_set_updated_at();

-- Whether a maintenance window covers the component at a moment: a scheduled window over
-- its slot, a started one from its start until it is completed (it may overrun), a
-- completed one over the time it actually ran. Monitoring asks this to suppress alerts.
CREATE OR REPLACE FUNCTION component_in_maintenance(p_component_id uuid,
                                                    p_at timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1
        FROM status_page_maintenance_components mc
        JOIN status_page_maintenance_windows w ON w.id = mc.maintenance_window_id
        WHERE mc.component_id = p_component_id
          AND CASE w.status
                WHEN 'scheduled' THEN p_at >= w.scheduled_start AND p_at < w.scheduled_end
                WHEN 'completed' THEN p_at >= COALESCE(w.started_at, w.scheduled_start)
                                  AND p_at < COALESCE(w.completed_at, w.scheduled_end)
                ELSE p_at >= COALESCE(w.started_at, w.scheduled_start)
              END)
$$;

-- Monitoring's question: is any component this check drives in maintenance?
CREATE OR REPLACE FUNCTION monitoring_check_in_maintenance(p_check_id uuid,
                                                           p_at timestamptz DEFAULT now())
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM status_page_components c
                   WHERE c.monitoring_check_id = p_check_id
                     AND component_in_maintenance(c.id, p_at))
$$;

-- The status everything that can hold the component asks for; worst wins.
CREATE OR REPLACE FUNCTION component_computed_status(p_component_id uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((
        SELECT held.status FROM (
            SELECT incident_severity_component_status(i.severity) AS status
            FROM status_page_component_services cs
            JOIN incidents i ON i.service_id = cs.service_id AND i.status <> 'resolved'
            WHERE cs.component_id = p_component_id
            UNION ALL
            SELECT ic.status
            FROM status_page_incident_components ic
            JOIN status_page_incidents spi ON spi.id = ic.status_page_incident_id
            WHERE ic.component_id = p_component_id
              AND spi.status NOT IN ('resolved', 'postmortem')
            UNION ALL
            SELECT c.monitoring_status FROM status_page_components c
            WHERE c.id = p_component_id AND c.monitoring_status IS NOT NULL
            UNION ALL
            SELECT 'under_maintenance'
            FROM status_page_maintenance_components mc
            JOIN status_page_maintenance_windows w ON w.id = mc.maintenance_window_id
            WHERE mc.component_id = p_component_id AND w.status IN ('in_progress', 'verifying')
        ) held
        ORDER BY component_status_rank(held.status) DESC
        LIMIT 1), 'operational')
$$;

-- Set each component to what holds it (only those that change); returns how many changed.
CREATE OR REPLACE FUNCTION recompute_component_statuses(p_component_ids uuid[],
                                                        p_reason text DEFAULT '')
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    previous text := current_setting('app.component_status_reason', true);
    changed integer;
BEGIN
    IF p_component_ids IS NULL OR cardinality(p_component_ids) = 0 THEN
        RETURN 0;
    END IF;
    PERFORM set_config('app.component_status_reason', COALESCE(p_reason, ''), true);
    UPDATE status_page_components c SET status = x.computed
    FROM (SELECT id, component_computed_status(id) AS computed
          FROM status_page_components WHERE id = ANY (p_component_ids)
          ORDER BY id) x
    WHERE c.id = x.id AND c.status IS DISTINCT FROM x.computed;
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('app.component_status_reason', COALESCE(previous, ''), true);
    RETURN changed;
END
$$;

-- Incidents (incidents app): opening, acknowledging, resolving, re-severitising or moving
-- an incident recomputes the components linked to its service(s).
CREATE OR REPLACE FUNCTION statuspages_after_incident_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status
       AND NEW.severity IS NOT DISTINCT FROM OLD.severity
       AND NEW.service_id IS NOT DISTINCT FROM OLD.service_id THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT cs.component_id) INTO ids
    FROM status_page_component_services cs
    WHERE cs.service_id = NEW.service_id
       OR (TG_OP = 'UPDATE' AND cs.service_id = OLD.service_id);
    IF ids IS NOT NULL THEN
        PERFORM recompute_component_statuses(
            ids, 'incident ' || NEW.status || ' (' || NEW.severity || ')');
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS incidents_status_page_components ON incidents;
CREATE TRIGGER incidents_status_page_components
    AFTER INSERT OR UPDATE OF status, severity, service_id ON incidents
    FOR EACH ROW EXECUTE FUNCTION statuspages_after_incident_change();

-- Linking or unlinking a service re-evaluates the component at once.
CREATE OR REPLACE FUNCTION status_page_component_link_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM recompute_component_statuses(ARRAY[OLD.component_id], 'link removed');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM recompute_component_statuses(ARRAY[NEW.component_id], 'link added');
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS status_page_component_services_changed ON status_page_component_services;
CREATE TRIGGER status_page_component_services_changed
    AFTER INSERT OR UPDATE OR DELETE ON status_page_component_services
    FOR EACH ROW EXECUTE FUNCTION status_page_component_link_changed();

-- Published incidents: status timestamps, then components and the page's version.
CREATE OR REPLACE FUNCTION status_page_incidents_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status = 'monitoring' THEN
            NEW.monitoring_at := COALESCE(NEW.monitoring_at, now());
        END IF;
        IF NEW.status IN ('resolved', 'postmortem') THEN
            NEW.resolved_at := COALESCE(NEW.resolved_at, now());
        ELSE
            NEW.resolved_at := NULL;  -- reopened
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS status_page_incidents_before ON status_page_incidents;
CREATE TRIGGER status_page_incidents_before BEFORE INSERT OR UPDATE ON status_page_incidents
    FOR EACH ROW EXECUTE FUNCTION status_page_incidents_before_write();

CREATE OR REPLACE FUNCTION status_page_incidents_after_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS DISTINCT FROM OLD.status THEN
        SELECT array_agg(component_id) INTO ids FROM status_page_incident_components
        WHERE status_page_incident_id = NEW.id;
        PERFORM recompute_component_statuses(ids, 'published incident ' || NEW.status);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS status_page_incidents_after ON status_page_incidents;
CREATE TRIGGER status_page_incidents_after AFTER UPDATE ON status_page_incidents
    FOR EACH ROW EXECUTE FUNCTION status_page_incidents_after_write();
DROP TRIGGER IF EXISTS status_page_incidents_touch ON status_page_incidents;
CREATE TRIGGER status_page_incidents_touch AFTER INSERT OR UPDATE OR DELETE ON status_page_incidents
    FOR EACH ROW EXECUTE FUNCTION status_page_child_touch();

CREATE OR REPLACE FUNCTION status_page_incident_components_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    page uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM recompute_component_statuses(ARRAY[OLD.component_id], 'published incident');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM recompute_component_statuses(ARRAY[NEW.component_id], 'published incident');
    END IF;
    SELECT status_page_id INTO page FROM status_page_incidents
    WHERE id = COALESCE(NEW.status_page_incident_id, OLD.status_page_incident_id);
    IF page IS NOT NULL THEN
        PERFORM status_page_touch(page);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS status_page_incident_components_changed ON status_page_incident_components;
CREATE TRIGGER status_page_incident_components_changed
    AFTER INSERT OR UPDATE OR DELETE ON status_page_incident_components
    FOR EACH ROW EXECUTE FUNCTION status_page_incident_components_changed();

-- An update carries the incident's new status and tells subscribers.
CREATE OR REPLACE FUNCTION status_page_incident_updates_after_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    spi status_page_incidents%ROWTYPE;
    ids uuid[];
BEGIN
    SELECT * INTO spi FROM status_page_incidents
    WHERE id = COALESCE(NEW.status_page_incident_id, OLD.status_page_incident_id);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF spi.status IS DISTINCT FROM NEW.status THEN
            UPDATE status_page_incidents SET status = NEW.status WHERE id = spi.id;
        END IF;
        IF NEW.deliver_notifications THEN
            SELECT array_agg(component_id) INTO ids FROM status_page_incident_components
            WHERE status_page_incident_id = spi.id;
            PERFORM queue_subscriber_notifications(spi.status_page_id, 'incident_update',
                                                   NEW.id, NULL, ids);
        END IF;
    END IF;
    PERFORM status_page_touch(spi.status_page_id);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS status_page_incident_updates_after ON status_page_incident_updates;
CREATE TRIGGER status_page_incident_updates_after
    AFTER INSERT OR UPDATE OR DELETE ON status_page_incident_updates
    FOR EACH ROW EXECUTE FUNCTION status_page_incident_updates_after_write();
DROP TRIGGER IF EXISTS status_page_incident_updates_updated ON status_page_incident_updates;
CREATE TRIGGER status_page_incident_updates_updated BEFORE UPDATE ON status_page_incident_updates
    FOR EACH ROW EXECUTE FUNCTION status_page_set_updated_at();

-- Monitoring (later): a check's verdict for the components it drives. 'operational' clears
-- it; anything else is held like an incident would be. Returns components changed.
CREATE OR REPLACE FUNCTION set_components_for_monitoring_check(check_id uuid, status text)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF status IS NULL OR status NOT IN ('operational', 'degraded_performance', 'partial_outage',
                                        'major_outage', 'under_maintenance') THEN
        RAISE EXCEPTION 'unknown component status %', status USING ERRCODE = 'check_violation';
    END IF;
    WITH changed AS (
        UPDATE status_page_components c
        SET monitoring_status = NULLIF(set_components_for_monitoring_check.status, 'operational')
        WHERE c.monitoring_check_id = check_id
        RETURNING c.id
    )
    SELECT array_agg(id) INTO ids FROM changed;
    RETURN recompute_component_statuses(ids, 'monitoring check ' || status);
END
$$;
-- reverse
DROP FUNCTION IF EXISTS set_components_for_monitoring_check(uuid, text);
DROP TRIGGER IF EXISTS status_page_incident_updates_updated ON status_page_incident_updates;
DROP TRIGGER IF EXISTS status_page_incident_updates_after ON status_page_incident_updates;
DROP FUNCTION IF EXISTS status_page_incident_updates_after_write();
DROP TRIGGER IF EXISTS status_page_incident_components_changed ON status_page_incident_components;
DROP FUNCTION IF EXISTS status_page_incident_components_changed();
DROP TRIGGER IF EXISTS status_page_incidents_touch ON status_page_incidents;
DROP TRIGGER IF EXISTS status_page_incidents_after ON status_page_incidents;
DROP FUNCTION IF EXISTS status_page_incidents_after_write();
DROP TRIGGER IF EXISTS status_page_incidents_before ON status_page_incidents;
DROP FUNCTION IF EXISTS status_page_incidents_before_write();
DROP TRIGGER IF EXISTS status_page_component_services_changed ON status_page_component_services;
DROP FUNCTION IF EXISTS status_page_component_link_changed();
DROP TRIGGER IF EXISTS incidents_status_page_components ON incidents;
DROP FUNCTION IF EXISTS statuspages_after_incident_change();
DROP FUNCTION IF EXISTS recompute_component_statuses(uuid[], text);
DROP FUNCTION IF EXISTS component_computed_status(uuid);
DROP FUNCTION IF EXISTS monitoring_check_in_maintenance(uuid, timestamptz);
DROP FUNCTION IF EXISTS component_in_maintenance(uuid, timestamptz);
DROP TRIGGER IF EXISTS status_page_components_updated ON status_page_components;
DROP TRIGGER IF EXISTS status_page_components_history ON status_page_components;
DROP FUNCTION IF EXISTS status_page_components_after_write();
DROP TRIGGER IF EXISTS status_page_component_groups_updated ON status_page_component_groups;
DROP TRIGGER IF EXISTS status_page_component_groups_touch ON status_page_component_groups;
DROP FUNCTION IF EXISTS status_page_set_updated_at();
DROP FUNCTION IF EXISTS status_page_child_touch();
DROP TRIGGER IF EXISTS status_pages_version ON status_pages;
DROP FUNCTION IF EXISTS status_pages_before_update();
DROP FUNCTION IF EXISTS status_page_touch(uuid);
DROP FUNCTION IF EXISTS incident_severity_component_status(text);
DROP FUNCTION IF EXISTS component_status_rank(text);
