-- Public status pages are read anonymously, so row-level security hides every row from
-- them. These two functions are the one narrow door: given a slug (or a custom domain) they
-- return only what the view needs to decide access and caching — never content. The view
-- then reads the page inside organization_scope(organization_id), under RLS as usual.
CREATE OR REPLACE FUNCTION status_page_lookup(p_slug text)
RETURNS TABLE (id uuid, organization_id uuid, slug text, is_public boolean, allowed_ips text,
               content_version bigint, updated_at timestamptz, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT p.id, p.organization_id, p.slug::text, p.is_public, p.allowed_ips::text,
           p.content_version, p.updated_at, p.time_zone::text
    FROM status_pages p WHERE p.slug = lower(p_slug)
$$;

CREATE OR REPLACE FUNCTION status_page_lookup_by_domain(p_domain text)
RETURNS TABLE (id uuid, organization_id uuid, slug text, is_public boolean, allowed_ips text,
               content_version bigint, updated_at timestamptz, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT p.id, p.organization_id, p.slug::text, p.is_public, p.allowed_ips::text,
           p.content_version, p.updated_at, p.time_zone::text
    FROM status_pages p WHERE p.custom_domain = rtrim(lower(p_domain), '.')
$$;
-- reverse
DROP FUNCTION IF EXISTS status_page_lookup_by_domain(text);
DROP FUNCTION IF EXISTS status_page_lookup(text);
