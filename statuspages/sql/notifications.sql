-- Subscriber notifications are queued in the database, in the transaction that makes the
-- news (an incident update, a maintenance start), so raw SQL writers notify too and nothing
-- is told that was rolled back. Celery delivers the queued rows (statuspages.tasks).

-- Queue one notification per confirmed, still-subscribed subscriber of the page who wants
-- it: everyone subscribed to the whole page, plus those subscribed to one of the affected
-- components (or to any component, when the news names none). Idempotent: the unique
-- indexes on subscriber_notifications make a second call a no-op.
CREATE OR REPLACE FUNCTION queue_subscriber_notifications(p_page_id uuid, p_event text,
                                                          p_update_id uuid,
                                                          p_window_id uuid,
                                                          p_component_ids uuid[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    queued integer;
BEGIN
    INSERT INTO subscriber_notifications (organization_id, subscriber_id, status_page_id, event,
                                          incident_update_id, maintenance_window_id)
    SELECT s.organization_id, s.id, s.status_page_id, p_event, p_update_id, p_window_id
    FROM subscribers s
    WHERE s.status_page_id = p_page_id
      AND s.confirmed_at IS NOT NULL
      AND s.unsubscribed_at IS NULL
      AND (cardinality(COALESCE(p_component_ids, '{}'::uuid[])) = 0
           OR NOT EXISTS (SELECT 1 FROM subscriber_components sc WHERE sc.subscriber_id = s.id)
           OR EXISTS (SELECT 1 FROM subscriber_components sc
                      WHERE sc.subscriber_id = s.id AND sc.component_id = ANY (p_component_ids)))
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS queued = ROW_COUNT;
    IF queued > 0 THEN
        PERFORM pg_notify('status_page_notifications', p_page_id::text);
    END IF;
    RETURN queued;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS queue_subscriber_notifications(uuid, text, uuid, uuid, uuid[]);
