-- The Events API inbox: an event is accepted by one small insert and applied moments later,
-- many at a time, by apply_event_inbox(). This is how PagerDuty's own endpoint behaves
-- ("Event processed" means accepted), and it is what lets two cores take a thousand events
-- a second: the answer costs one row and one commit, and applying pays the per-transaction
-- price (commit, WAL flush, trigger queue) once per batch instead of once per event.
--
-- Durability is unchanged: the 202 goes out only after the inbox row is committed, and the
-- row is deleted in the same transaction that applies it, so an event is either waiting
-- here or applied — never both, never neither.

-- Accept one event: resolve the key on the system path and store the event for its
-- organization. NULL when no integration has the key (nothing written), so the caller can
-- answer PagerDuty's "Invalid routing key" at once, as before.
CREATE OR REPLACE FUNCTION accept_integration_event(
    p_integration_key text,
    p_action text,
    p_dedup_key text,
    p_title text,
    p_severity text,
    p_details jsonb,
    p_reason text
) RETURNS bigint
LANGUAGE plpgsql AS $$  -- not LANGUAGE sql: PL/pgSQL caches the plans across calls
DECLARE
    accepted bigint;
BEGIN
    INSERT INTO event_inbox (organization_id, integration_key, action, dedup_key, title,
                             severity, details, reason)
    SELECT route.organization_id, p_integration_key, p_action, p_dedup_key, p_title,
           p_severity, p_details, p_reason
      FROM service_for_integration_key(p_integration_key) route
    RETURNING id INTO accepted;
    RETURN accepted;
END
$$;

-- Apply up to p_limit waiting events, oldest first, in this transaction, through the same
-- apply_integration_event() the synchronous path uses (one implementation of the rules).
-- One applier at a time (a transaction-level advisory lock; a second caller waits, then
-- applies what is left), so the events of a routing key apply in the order accepted.
--
-- The batch is tried as a whole first (one subtransaction, one DELETE). If any event
-- fails, the batch is rolled back and applied again one event per subtransaction, so the
-- failing event is rolled back alone: it stays in the inbox with its error and is retried
-- by later calls; after five attempts it is kept as failed (failed_at set) for an
-- administrator to see in admin, never silently dropped.
--
-- The batch commits without waiting for its WAL flush (synchronous_commit off, for this
-- transaction only). Nothing can be lost by it: the events were made durable when they
-- were accepted, and their deletion from the inbox commits with their effects, so a crash
-- that loses the batch's commit leaves the events waiting to be applied again. Nothing
-- that leaves the database depends on it either: a page is claimed in a transaction that
-- does wait for its flush, and WAL is flushed in order, so the incident it pages for is on
-- disk by then. The applier then spends its time applying, not waiting on the disk.
CREATE OR REPLACE FUNCTION apply_event_inbox(p_app_role text, p_limit integer DEFAULT 500)
RETURNS TABLE (applied integer, opened integer, failed integer)
LANGUAGE plpgsql AS $$
DECLARE
    waiting event_inbox%ROWTYPE;
    result record;
    done bigint[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('alert24.apply_event_inbox')),
            set_config('synchronous_commit', 'off', true);
    applied := 0;
    opened := 0;
    failed := 0;
    BEGIN
        FOR waiting IN
            SELECT * FROM event_inbox WHERE failed_at IS NULL ORDER BY id LIMIT p_limit
        LOOP
            SELECT * INTO result FROM apply_integration_event(
                p_app_role, waiting.integration_key, waiting.action, waiting.dedup_key,
                waiting.title, waiting.severity, 'events', waiting.details, '',
                waiting.reason);
            done := done || waiting.id;
            IF result.opened THEN
                opened := opened + 1;
            END IF;
        END LOOP;
        DELETE FROM event_inbox WHERE id = ANY (done);
        applied := cardinality(done);
        RETURN NEXT;
        RETURN;
    EXCEPTION WHEN OTHERS THEN
        opened := 0;  -- rolled back with the batch; counted again below
    END;
    FOR waiting IN
        SELECT * FROM event_inbox WHERE failed_at IS NULL ORDER BY id LIMIT p_limit
    LOOP
        BEGIN
            SELECT * INTO result FROM apply_integration_event(
                p_app_role, waiting.integration_key, waiting.action, waiting.dedup_key,
                waiting.title, waiting.severity, 'events', waiting.details, '',
                waiting.reason);
            DELETE FROM event_inbox WHERE id = waiting.id;
            applied := applied + 1;
            IF result.opened THEN
                opened := opened + 1;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            UPDATE event_inbox
               SET attempts = attempts + 1,
                   error = left(SQLERRM, 1000),
                   failed_at = CASE WHEN attempts + 1 >= 5 THEN now() END
             WHERE id = waiting.id;
            failed := failed + 1;
        END;
    END LOOP;
    RETURN NEXT;
END
$$;
-- reverse
DROP FUNCTION IF EXISTS apply_event_inbox(text, integer);
DROP FUNCTION IF EXISTS accept_integration_event(text, text, text, text, text, jsonb, text);
