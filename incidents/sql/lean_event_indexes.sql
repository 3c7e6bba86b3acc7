-- Indexes that repeated another one, on the tables every opened incident writes
-- (incidents, incident_updates, incident_escalations): each foreign key here is still
-- the leading column of a composite or partial index (validate_schema_integrity checks).
-- Only the indexes go; the foreign-key constraints stay as they are.
DROP INDEX IF EXISTS incidents_organization_id_f4b5bdd6;      -- incidents_org_created_idx
DROP INDEX IF EXISTS incidents_service_id_008d0852;           -- incidents_service_idx
DROP INDEX IF EXISTS incidents_escalation_policy_id_36e59046; -- incidents_policy_idx
DROP INDEX IF EXISTS incidents_merged_into_id_9c491364;       -- partial indexes, by the
DROP INDEX IF EXISTS incidents_created_by_id_23d36355;        -- migration's AddIndex
DROP INDEX IF EXISTS incidents_acknowledged_by_id_ac463f57;
DROP INDEX IF EXISTS incidents_resolved_by_id_dc3504a7;
DROP INDEX IF EXISTS incident_updates_incident_id_d6726cc6;   -- incident_updates_timeline_idx
DROP INDEX IF EXISTS incident_updates_user_id_382ed928;       -- incident_updates_user_idx
DROP INDEX IF EXISTS incident_escalations_escalation_policy_id_899dcce6; -- escalations_policy_idx
-- reverse
CREATE INDEX IF NOT EXISTS incidents_organization_id_f4b5bdd6 ON incidents (organization_id);
CREATE INDEX IF NOT EXISTS incidents_service_id_008d0852 ON incidents (service_id);
CREATE INDEX IF NOT EXISTS incidents_escalation_policy_id_36e59046 ON incidents (escalation_policy_id);
CREATE INDEX IF NOT EXISTS incidents_merged_into_id_9c491364 ON incidents (merged_into_id);
CREATE INDEX IF NOT EXISTS incidents_created_by_id_23d36355 ON incidents (created_by);
CREATE INDEX IF NOT EXISTS incidents_acknowledged_by_id_ac463f57 ON incidents (acknowledged_by_id);
CREATE INDEX IF NOT EXISTS incidents_resolved_by_id_dc3504a7 ON incidents (resolved_by_id);
CREATE INDEX IF NOT EXISTS incident_updates_incident_id_d6726cc6 ON incident_updates (incident_id);
CREATE INDEX IF NOT EXISTS incident_updates_user_id_382ed928 ON incident_updates (user_id);
CREATE INDEX IF NOT EXISTS incident_escalations_escalation_policy_id_899dcce6
    ON incident_escalations (escalation_policy_id);
