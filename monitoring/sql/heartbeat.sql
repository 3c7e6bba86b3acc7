-- The one way an anonymous heartbeat request finds its check. Requests run as the app role
-- under row-level security, and an anonymous one has no organization, so it sees no check;
-- this function (owned by the schema owner, who bypasses RLS) answers exactly one question:
-- which heartbeat check, of which organization, has this token. The caller then acts inside
-- that organization's scope. The placeholder {role} is settings.DATABASE_APP_ROLE.
CREATE OR REPLACE FUNCTION heartbeat_check_for_token(p_token text)
RETURNS TABLE (check_id uuid, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
    SELECT c.id, c.organization_id
    FROM public.monitoring_checks c
    WHERE c.heartbeat_token = p_token AND c.check_type = 'heartbeat'
$$;
REVOKE ALL ON FUNCTION heartbeat_check_for_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION heartbeat_check_for_token(text) TO {role};
-- reverse
DROP FUNCTION IF EXISTS heartbeat_check_for_token(text);
