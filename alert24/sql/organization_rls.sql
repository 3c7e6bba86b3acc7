-- Row-level security for one organization-scoped table (see alert24/tenancy.py).
-- The schema owner bypasses RLS (system path); the app role sees only the organization in
-- app.current_organization_id, and may write rows only for it.
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS {table}_organization_isolation ON {table};
CREATE POLICY {table}_organization_isolation ON {table}
    USING ({column} = current_organization_id())
    WITH CHECK ({column} = current_organization_id());
-- reverse
DROP POLICY IF EXISTS {table}_organization_isolation ON {table};
ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
