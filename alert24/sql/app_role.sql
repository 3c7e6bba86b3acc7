-- The non-owner role that web and API transactions run as (SET LOCAL ROLE), so that
-- row-level security applies to them. Roles are cluster-wide: create it only if missing.
-- The placeholder {role} is filled in from settings.DATABASE_APP_ROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
    -- A non-superuser owner must be a member to SET ROLE to it.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT {role} TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role};

-- The organization (and user) a transaction acts for; NULL when none is set, so a
-- policy compares with NULL and matches nothing.
CREATE OR REPLACE FUNCTION current_organization_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $fn$ SELECT NULLIF(current_setting('app.current_organization_id', true), '')::uuid $fn$;

CREATE OR REPLACE FUNCTION current_app_user_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $fn$ SELECT NULLIF(current_setting('app.current_user_id', true), '')::uuid $fn$;
-- reverse
DROP FUNCTION IF EXISTS current_app_user_id();
DROP FUNCTION IF EXISTS current_organization_id();
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role};
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role};
REVOKE USAGE ON SCHEMA public FROM {role};
