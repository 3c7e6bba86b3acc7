-- Credential look-ups on the narrow system path (see alert24/tenancy.py).
--
-- A request that carries an API key or an integration (routing) key arrives as nobody's
-- member: it must learn which organization it acts for before row-level security can
-- apply. These SECURITY DEFINER functions are that one step, in one round trip, and they
-- reveal nothing but what the presented secret already names. Everything after them runs
-- as the app role inside the organization they return.

-- The key with this SHA-256 hash (revoked ones too, so the caller can say "revoked");
-- marks it used, at most once a minute and never waiting for another request's lock.
CREATE OR REPLACE FUNCTION authenticate_api_key(p_key_hash text)
RETURNS TABLE (key_id uuid, organization_id uuid, scope text, revoked boolean,
               created_by uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
        SELECT k.id, k.organization_id, k.scope::text, k.revoked_at IS NOT NULL, k.created_by_id
          FROM api_keys k WHERE k.key_hash = p_key_hash;
    UPDATE api_keys u SET last_used_at = now()
     WHERE u.id = (SELECT k.id FROM api_keys k
                    WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
                      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
                      FOR UPDATE SKIP LOCKED);
END
$$;

-- The service an Events API routing key or Alertmanager webhook key belongs to.
CREATE OR REPLACE FUNCTION service_for_integration_key(p_key text)
RETURNS TABLE (integration_id uuid, service_id uuid, organization_id uuid, kind text,
               service_status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.id, i.service_id, i.organization_id, i.kind::text, s.status::text
      FROM service_integrations i JOIN services s ON s.id = i.service_id
     WHERE i.integration_key = p_key
$$;
-- reverse
DROP FUNCTION IF EXISTS service_for_integration_key(text);
DROP FUNCTION IF EXISTS authenticate_api_key(text);
