-- Maintenance windows: timestamps, components under maintenance while a window runs,
-- subscriber notices, and process_maintenance_windows() which beat calls every minute
-- (SELECT process_maintenance_windows(); works verbatim from psql).

CREATE OR REPLACE FUNCTION maintenance_windows_before_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        IF NEW.status IN ('in_progress', 'verifying') THEN
            NEW.started_at := COALESCE(NEW.started_at, now());
            NEW.completed_at := NULL;
        ELSIF NEW.status = 'completed' THEN
            NEW.completed_at := COALESCE(NEW.completed_at, now());
        ELSE
            NEW.started_at := NULL;
            NEW.completed_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS maintenance_windows_before ON status_page_maintenance_windows;
CREATE TRIGGER maintenance_windows_before BEFORE INSERT OR UPDATE ON status_page_maintenance_windows
    FOR EACH ROW EXECUTE FUNCTION maintenance_windows_before_write();

CREATE OR REPLACE FUNCTION maintenance_window_component_ids(p_window_id uuid) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(component_id) FROM status_page_maintenance_components
    WHERE maintenance_window_id = p_window_id
$$;

CREATE OR REPLACE FUNCTION maintenance_windows_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        ids := maintenance_window_component_ids(NEW.id);
        PERFORM recompute_component_statuses(ids, 'maintenance ' || NEW.status);
        IF NEW.deliver_notifications AND NEW.status IN ('in_progress', 'completed') THEN
            PERFORM queue_subscriber_notifications(NEW.status_page_id,
                                                   'maintenance_' || NEW.status, NULL, NEW.id,
                                                   ids);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS maintenance_windows_after ON status_page_maintenance_windows;
CREATE TRIGGER maintenance_windows_after AFTER UPDATE ON status_page_maintenance_windows
    FOR EACH ROW EXECUTE FUNCTION maintenance_windows_after_update();
DROP TRIGGER IF EXISTS maintenance_windows_touch ON status_page_maintenance_windows;
CREATE TRIGGER maintenance_windows_touch
    AFTER INSERT OR UPDATE OR DELETE ON status_page_maintenance_windows
    FOR EACH ROW EXECUTE FUNCTION status_page_child_touch();

-- "Maintenance scheduled" is told at commit, when the window's components are linked too.
CREATE OR REPLACE FUNCTION maintenance_windows_scheduled_notice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    w status_page_maintenance_windows%ROWTYPE;
BEGIN
    SELECT * INTO w FROM status_page_maintenance_windows WHERE id = NEW.id;
    IF FOUND AND w.deliver_notifications AND w.status = 'scheduled' THEN
        PERFORM queue_subscriber_notifications(w.status_page_id, 'maintenance_scheduled', NULL,
                                               w.id, maintenance_window_component_ids(w.id));
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS maintenance_windows_scheduled_notice ON status_page_maintenance_windows;
CREATE CONSTRAINT TRIGGER maintenance_windows_scheduled_notice
    AFTER INSERT ON status_page_maintenance_windows
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION maintenance_windows_scheduled_notice();

CREATE OR REPLACE FUNCTION maintenance_components_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    page uuid;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM recompute_component_statuses(ARRAY[OLD.component_id], 'maintenance');
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM recompute_component_statuses(ARRAY[NEW.component_id], 'maintenance');
    END IF;
    SELECT status_page_id INTO page FROM status_page_maintenance_windows
    WHERE id = COALESCE(NEW.maintenance_window_id, OLD.maintenance_window_id);
    IF page IS NOT NULL THEN
        PERFORM status_page_touch(page);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS maintenance_components_changed ON status_page_maintenance_components;
CREATE TRIGGER maintenance_components_changed
    AFTER INSERT OR UPDATE OR DELETE ON status_page_maintenance_components
    FOR EACH ROW EXECUTE FUNCTION maintenance_components_changed();

-- Start windows whose time has come and complete those whose time is up (auto_start /
-- auto_complete); a window whose whole slot passed unstarted is completed. Safe to run
-- concurrently (row locks), returns how many windows changed.
CREATE OR REPLACE FUNCTION process_maintenance_windows() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    started integer;
    completed integer;
    lapsed integer;
BEGIN
    UPDATE status_page_maintenance_windows SET status = 'in_progress'
    WHERE status = 'scheduled' AND auto_start
      AND scheduled_start <= now() AND scheduled_end > now();
    GET DIAGNOSTICS started = ROW_COUNT;
    UPDATE status_page_maintenance_windows SET status = 'completed'
    WHERE status IN ('in_progress', 'verifying') AND auto_complete AND scheduled_end <= now();
    GET DIAGNOSTICS completed = ROW_COUNT;
    UPDATE status_page_maintenance_windows SET status = 'completed', started_at = scheduled_start,
                                               completed_at = scheduled_end
    WHERE status = 'scheduled' AND auto_start AND auto_complete AND scheduled_end <= now();
    GET DIAGNOSTICS lapsed = ROW_COUNT;
    RETURN started + completed + lapsed;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS process_maintenance_windows();
DROP TRIGGER IF EXISTS maintenance_components_changed ON status_page_maintenance_components;
DROP FUNCTION IF EXISTS maintenance_components_changed();
DROP TRIGGER IF EXISTS maintenance_windows_scheduled_notice ON status_page_maintenance_windows;
DROP FUNCTION IF EXISTS maintenance_windows_scheduled_notice();
DROP TRIGGER IF EXISTS maintenance_windows_touch ON status_page_maintenance_windows;
DROP TRIGGER IF EXISTS maintenance_windows_after ON status_page_maintenance_windows;
DROP FUNCTION IF EXISTS maintenance_windows_after_update();
DROP FUNCTION IF EXISTS maintenance_window_component_ids(uuid);
DROP TRIGGER IF EXISTS maintenance_windows_before ON status_page_maintenance_windows;
DROP FUNCTION IF EXISTS maintenance_windows_before_write();
