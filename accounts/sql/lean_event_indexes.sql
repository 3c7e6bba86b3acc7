-- The activity log is written for every incident opened: its organization_id index
-- repeated activity_log_org_created_idx, and user_id had two (one now, partial).
-- Only the indexes go; the foreign-key constraints stay as they are.
DROP INDEX IF EXISTS user_activity_log_organization_id_a8cc81f5;
DROP INDEX IF EXISTS user_activity_log_user_id_22a19301;
-- reverse
CREATE INDEX IF NOT EXISTS user_activity_log_organization_id_a8cc81f5
    ON user_activity_log (organization_id);
CREATE INDEX IF NOT EXISTS user_activity_log_user_id_22a19301 ON user_activity_log (user_id);
