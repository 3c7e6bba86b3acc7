-- Row-level security for account tables whose visibility is not simply "my organization".
--
-- organizations: the active organization, and any organization the acting user belongs to
-- (so the organization switcher can list them).
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organizations_member_visibility ON organizations
    USING (id = current_organization_id()
           OR EXISTS (SELECT 1 FROM organization_members m
                      WHERE m.organization_id = organizations.id
                        AND m.user_id = current_app_user_id()))
    WITH CHECK (id = current_organization_id());

-- organization_members: the active organization's members, plus the acting user's own
-- memberships elsewhere (read only: writes stay within the active organization).
ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY organization_members_visibility ON organization_members FOR SELECT
    USING (organization_id = current_organization_id() OR user_id = current_app_user_id());
CREATE POLICY organization_members_write ON organization_members FOR ALL
    USING (organization_id = current_organization_id())
    WITH CHECK (organization_id = current_organization_id());

-- Per-user data: the user themself, or members of the active organization (a responder
-- sees how a teammate can be reached; nobody sees people of other organizations).
ALTER TABLE user_contact_methods ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_contact_methods_visibility ON user_contact_methods
    USING (user_id = current_app_user_id()
           OR EXISTS (SELECT 1 FROM organization_members m
                      WHERE m.user_id = user_contact_methods.user_id
                        AND m.organization_id = current_organization_id()));

ALTER TABLE user_notification_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_notification_preferences_visibility ON user_notification_preferences
    USING (user_id = current_app_user_id()
           OR EXISTS (SELECT 1 FROM organization_members m
                      WHERE m.user_id = user_notification_preferences.user_id
                        AND m.organization_id = current_organization_id()));

-- A team membership's team and member must belong to the membership's organization; the
-- database says so with composite foreign keys, whatever wrote the row.
ALTER TABLE team_memberships
    ADD CONSTRAINT team_memberships_team_same_org
        FOREIGN KEY (team_id, organization_id) REFERENCES team_groups (id, organization_id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT team_memberships_member_of_org
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
-- reverse
ALTER TABLE team_memberships DROP CONSTRAINT IF EXISTS team_memberships_member_of_org;
ALTER TABLE team_memberships DROP CONSTRAINT IF EXISTS team_memberships_team_same_org;
DROP POLICY IF EXISTS user_notification_preferences_visibility ON user_notification_preferences;
ALTER TABLE user_notification_preferences DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS user_contact_methods_visibility ON user_contact_methods;
ALTER TABLE user_contact_methods DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS organization_members_write ON organization_members;
DROP POLICY IF EXISTS organization_members_visibility ON organization_members;
ALTER TABLE organization_members DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS organizations_member_visibility ON organizations;
ALTER TABLE organizations DISABLE ROW LEVEL SECURITY;
