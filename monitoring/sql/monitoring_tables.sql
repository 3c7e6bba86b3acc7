-- Table rules Django cannot express: cascading foreign keys for the volume tables, row-level
-- security for the tables that reach their organization through the check, and the
-- schedule trigger that spreads new checks over their interval.

-- Deleting a check deletes its results and statistics in one statement inside PostgreSQL
-- (the models declare DO_NOTHING so Django never loads millions of rows to delete them).
ALTER TABLE check_results
    ADD CONSTRAINT check_results_check_fk FOREIGN KEY (check_id)
    REFERENCES monitoring_checks (id) ON DELETE CASCADE;
ALTER TABLE monitoring_statistics
    ADD CONSTRAINT monitoring_statistics_check_fk FOREIGN KEY (check_id)
    REFERENCES monitoring_checks (id) ON DELETE CASCADE;

-- State columns are rewritten on every result: leave room for HOT updates.
ALTER TABLE monitoring_checks SET (fillfactor = 80);
ALTER TABLE check_schedules SET (fillfactor = 80);

-- check_results and check_schedules have no organization column (results are the volume
-- table; every byte counts). Their rows belong to whoever may see the check: the subquery
-- on monitoring_checks is itself filtered by that table's policy.
ALTER TABLE check_results ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS check_results_organization_isolation ON check_results;
CREATE POLICY check_results_organization_isolation ON check_results
    USING (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id))
    WITH CHECK (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id));

ALTER TABLE check_schedules ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS check_schedules_organization_isolation ON check_schedules;
CREATE POLICY check_schedules_organization_isolation ON check_schedules
    USING (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id))
    WITH CHECK (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id));

-- Where in its interval a check runs from a location: a stable hash of (check, location),
-- so a thousand checks created at once spread over the interval instead of firing in the
-- same second, and each location of one check runs at a different moment.
CREATE OR REPLACE FUNCTION check_schedule_offset(p_check_id uuid, p_location_id smallint,
                                                 p_interval_seconds integer)
RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT make_interval(secs => (
        abs(hashtextextended(p_check_id::text || ':' || p_location_id::text, 0))
        % (GREATEST(p_interval_seconds, 1) * 1000)) / 1000.0)
$$;

-- A new schedule row without a time starts at a hashed point of the coming interval.
CREATE OR REPLACE FUNCTION check_schedules_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    every integer;
BEGIN
    IF NEW.next_run_at IS NULL THEN
        SELECT c.interval_seconds INTO every FROM monitoring_checks c WHERE c.id = NEW.check_id;
        NEW.next_run_at := now() + check_schedule_offset(NEW.check_id, NEW.location_id,
                                                         COALESCE(every, 60));
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS check_schedules_before_insert ON check_schedules;
CREATE TRIGGER check_schedules_before_insert BEFORE INSERT ON check_schedules
    FOR EACH ROW EXECUTE FUNCTION check_schedules_before_insert();

-- Pausing shows as the check's state; resuming waits for the next result ("pending").
CREATE OR REPLACE FUNCTION monitoring_checks_pause_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.is_paused THEN
            NEW.state := 'paused';
        END IF;
    ELSIF NEW.is_paused AND NOT OLD.is_paused THEN
        NEW.state := 'paused';
        NEW.state_changed_at := now();
        NEW.consecutive_failures := 0;
        NEW.consecutive_successes := 0;
        NEW.failing_location_ids := '{}';
    ELSIF OLD.is_paused AND NOT NEW.is_paused THEN
        NEW.state := 'pending';
        NEW.state_changed_at := now();
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS monitoring_checks_pause_state ON monitoring_checks;
CREATE TRIGGER monitoring_checks_pause_state BEFORE UPDATE OF is_paused ON monitoring_checks
    FOR EACH ROW WHEN (OLD.is_paused IS DISTINCT FROM NEW.is_paused)
    EXECUTE FUNCTION monitoring_checks_pause_state();
DROP TRIGGER IF EXISTS monitoring_checks_paused_at_creation ON monitoring_checks;
CREATE TRIGGER monitoring_checks_paused_at_creation BEFORE INSERT ON monitoring_checks
    FOR EACH ROW WHEN (NEW.is_paused) EXECUTE FUNCTION monitoring_checks_pause_state();
-- reverse
DROP TRIGGER IF EXISTS monitoring_checks_paused_at_creation ON monitoring_checks;
DROP TRIGGER IF EXISTS monitoring_checks_pause_state ON monitoring_checks;
DROP FUNCTION IF EXISTS monitoring_checks_pause_state();
DROP TRIGGER IF EXISTS check_schedules_before_insert ON check_schedules;
DROP FUNCTION IF EXISTS check_schedules_before_insert();
DROP FUNCTION IF EXISTS check_schedule_offset(uuid, smallint, integer);
DROP POLICY IF EXISTS check_schedules_organization_isolation ON check_schedules;
ALTER TABLE check_schedules DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS check_results_organization_isolation ON check_results;
ALTER TABLE check_results DISABLE ROW LEVEL SECURITY;
ALTER TABLE check_schedules RESET (fillfactor);
ALTER TABLE monitoring_checks RESET (fillfactor);
ALTER TABLE monitoring_statistics DROP CONSTRAINT IF EXISTS monitoring_statistics_check_fk;
ALTER TABLE check_results DROP CONSTRAINT IF EXISTS check_results_check_fk;
