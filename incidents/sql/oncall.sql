-- On-call schedules: the one source of truth for "who is on call for schedule S at time T"
-- and "the shifts between T1 and T2". Python (incidents/oncall.py), the iCal feeds and the
-- escalation engine all call these functions instead of re-implementing the rules.
--
-- Rules (see incidents/models.py):
--   * Day and week rotations hand off at the local wall-clock time of rotation_start in the
--     schedule's time zone, so a daily 09:00 Europe/Berlin hand-off stays at 09:00 across
--     DST. The turn index comes from naive local timestamps:
--       k = floor(epoch(local(at) - local(rotation_start)) / (days * 86400)).
--     Hour rotations are exact elapsed time: k = floor(epoch(at - rotation_start) / (h * 3600)).
--     The member is the (k mod count)-th by position. (Consequence of the naive local
--     clock: a hand-off placed inside a fall-back hour, e.g. 02:30 Berlin on 25 October,
--     happens at 02:30 CEST, reverts when the clock goes back to 02:00 and happens again
--     at 02:30 CET. schedule_shifts reports exactly that; 09:00-style hand-offs never hit it.)
--   * A layer with restrictions applies only inside at least one of them, judged on the
--     local wall clock (daily: from start_time for duration; weekly: from ISO weekday +
--     start_time for duration, wrapping at the end of the day / week).
--   * An override covering the instant (start_at <= at < end_at) beats every layer; the
--     latest created wins (ties: the later start, then the id, so the answer is stable).
--     Otherwise the highest-position layer with someone on call wins.
--
-- Every function is STABLE and SECURITY INVOKER, so it sees only what the caller's
-- row-level security allows (another organization's schedule is simply absent: NULL / no
-- rows). None of them raises on NULL arguments or bad data; they answer NULL or no rows.
-- The only SECURITY DEFINER function is the narrow token lookup for the iCal feeds.

-- The instants whose local wall-clock time (in tz) is `local_ts`, as boundary candidates.
-- Normally one instant; in a DST fall-back hour two (the wall clock shows it twice); in a
-- spring-forward gap PostgreSQL's reading with the earlier offset (the true change of the
-- wall clock is then the DST transition itself, which schedule_shifts also evaluates).
CREATE OR REPLACE FUNCTION oncall_local_instants(local_ts timestamp, tz text)
    RETURNS SETOF timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $fn$
        SELECT DISTINCT t FROM (VALUES
            (local_ts AT TIME ZONE tz),
            (((local_ts - interval '1 day') AT TIME ZONE tz) + interval '24 hours'),
            (((local_ts + interval '1 day') AT TIME ZONE tz) - interval '24 hours')
        ) AS v (t)
        WHERE local_ts IS NOT NULL AND tz IS NOT NULL
    $fn$;

-- The DST (UTC offset) transitions of tz between from_at and to_at, to the second. A
-- transition changes the wall clock and so may change a day rotation's turn or a
-- restriction's inside/outside; evaluating there keeps schedule_shifts exact even for
-- hand-offs placed inside a DST gap or fall-back hour. Assumes at most one change a day.
CREATE OR REPLACE FUNCTION oncall_zone_transitions(tz text, from_at timestamptz, to_at timestamptz)
    RETURNS SETOF timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    AS $fn$
DECLARE
    p_tz ALIAS FOR $1;
    p_from ALIAS FOR $2;
    p_to ALIAS FOR $3;
    day_start timestamptz;
    lo bigint;
    hi bigint;
    mid bigint;
    lo_offset interval;
BEGIN
    IF p_tz IS NULL OR p_from IS NULL OR p_to IS NULL OR p_to <= p_from
       OR p_to - p_from > interval '367 days' THEN
        RETURN;
    END IF;
    FOR day_start IN
        SELECT d FROM generate_series(p_from, p_to, interval '24 hours') AS g (d)
    LOOP
        lo := extract(epoch FROM day_start)::bigint;
        hi := lo + 86400;
        lo_offset := (to_timestamp(lo) AT TIME ZONE p_tz) - (to_timestamp(lo) AT TIME ZONE 'UTC');
        IF (to_timestamp(hi) AT TIME ZONE p_tz) - (to_timestamp(hi) AT TIME ZONE 'UTC')
           IS DISTINCT FROM lo_offset THEN
            WHILE hi - lo > 1 LOOP
                mid := (lo + hi) / 2;
                IF (to_timestamp(mid) AT TIME ZONE p_tz) - (to_timestamp(mid) AT TIME ZONE 'UTC')
                   = lo_offset THEN
                    lo := mid;
                ELSE
                    hi := mid;
                END IF;
            END LOOP;
            RETURN NEXT to_timestamp(hi);
        END IF;
    END LOOP;
EXCEPTION WHEN data_exception THEN
    RETURN;
END
$fn$;

-- The member on call in one layer at `at`, or NULL: before rotation_start, at/after
-- end_at, outside every restriction, with no members, or on bad data.
CREATE OR REPLACE FUNCTION schedule_layer_user(layer_id uuid, at timestamptz)
    RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $fn$
DECLARE
    p_layer ALIAS FOR $1;
    p_at ALIAS FOR $2;
    layer record;
    local_at timestamp;
    inside boolean;
    member_count bigint;
    turn bigint;
BEGIN
    IF p_layer IS NULL OR p_at IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT l.rotation_unit, l.rotation_length, l.rotation_start, l.end_at, s.time_zone
      INTO layer
      FROM schedule_layers l
      JOIN on_call_schedules s ON s.id = l.schedule_id
     WHERE l.id = p_layer;
    IF NOT FOUND OR layer.rotation_start IS NULL OR layer.time_zone IS NULL
       OR layer.rotation_length IS NULL OR layer.rotation_length < 1
       OR p_at < layer.rotation_start OR p_at >= layer.end_at THEN
        RETURN NULL;
    END IF;

    local_at := p_at AT TIME ZONE layer.time_zone;

    -- NULL when the layer has no restriction (it always applies).
    SELECT bool_or(COALESCE(CASE r.kind
               WHEN 'daily' THEN
                   mod(mod(extract(epoch FROM local_at::time)
                           - extract(epoch FROM r.start_time), 86400) + 86400, 86400)
                   < r.duration_minutes * 60
               WHEN 'weekly' THEN
                   mod(mod((extract(isodow FROM local_at) - 1) * 86400
                           + extract(epoch FROM local_at::time)
                           - ((r.start_day_of_week - 1) * 86400
                              + extract(epoch FROM r.start_time)), 604800) + 604800, 604800)
                   < r.duration_minutes * 60
           END, false))
      INTO inside
      FROM schedule_restrictions r
     WHERE r.layer_id = p_layer;
    IF inside IS FALSE THEN
        RETURN NULL;
    END IF;

    SELECT count(*) INTO member_count FROM schedule_layer_members m WHERE m.layer_id = p_layer;
    IF member_count = 0 THEN
        RETURN NULL;
    END IF;

    IF layer.rotation_unit = 'hours' THEN
        turn := floor(extract(epoch FROM p_at - layer.rotation_start)
                      / (layer.rotation_length::numeric * 3600));
    ELSIF layer.rotation_unit IN ('days', 'weeks') THEN
        turn := floor(extract(epoch FROM local_at - (layer.rotation_start AT TIME ZONE layer.time_zone))
                      / (layer.rotation_length::numeric
                         * CASE layer.rotation_unit WHEN 'weeks' THEN 7 ELSE 1 END * 86400));
    ELSE
        RETURN NULL;
    END IF;

    RETURN (SELECT m.user_id
              FROM schedule_layer_members m
             WHERE m.layer_id = p_layer
             ORDER BY m.position, m.id
            OFFSET mod(mod(turn, member_count) + member_count, member_count)
             LIMIT 1);
EXCEPTION WHEN data_exception THEN
    -- An unknown time zone or an out-of-range instant (e.g. 'infinity'): nobody, no error.
    RETURN NULL;
END
$fn$;

-- Who is on call for a schedule at `at`: a covering override (latest created wins), else the
-- highest-position layer that has someone on call, else NULL.
CREATE OR REPLACE FUNCTION on_call_user(schedule_id uuid, at timestamptz)
    RETURNS uuid
    LANGUAGE plpgsql STABLE
    AS $fn$
DECLARE
    p_schedule ALIAS FOR $1;
    p_at ALIAS FOR $2;
    found_user uuid;
    layer_row record;
BEGIN
    IF p_schedule IS NULL OR p_at IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT o.user_id INTO found_user
      FROM schedule_overrides o
     WHERE o.schedule_id = p_schedule AND o.start_at <= p_at AND o.end_at > p_at
     ORDER BY o.created_at DESC, o.start_at DESC, o.id DESC
     LIMIT 1;
    IF found_user IS NOT NULL THEN
        RETURN found_user;
    END IF;
    FOR layer_row IN
        SELECT l.id FROM schedule_layers l
         WHERE l.schedule_id = p_schedule
         ORDER BY l.position DESC, l.id
    LOOP
        found_user := schedule_layer_user(layer_row.id, p_at);
        IF found_user IS NOT NULL THEN
            RETURN found_user;
        END IF;
    END LOOP;
    RETURN NULL;
END
$fn$;

-- Every instant in [from_at, to_at) where one layer's answer may change: rotation start and
-- end, hand-offs (local wall-clock ones for day/week rotations), restriction starts and ends.
-- Candidates may include instants where nothing changes; callers merge equal segments.
CREATE OR REPLACE FUNCTION oncall_layer_boundaries(layer_id uuid, from_at timestamptz, to_at timestamptz)
    RETURNS SETOF timestamptz
    LANGUAGE plpgsql STABLE
    AS $fn$
DECLARE
    p_layer ALIAS FOR $1;
    p_from ALIAS FOR $2;
    p_to ALIAS FOR $3;
    layer record;
    lo timestamptz;
    hi timestamptz;
    local_lo timestamp;
    local_hi timestamp;
    local_start timestamp;
    step_seconds numeric;
    first_turn bigint;
    last_turn bigint;
BEGIN
    IF p_layer IS NULL OR p_from IS NULL OR p_to IS NULL OR p_to <= p_from THEN
        RETURN;
    END IF;
    SELECT l.rotation_unit, l.rotation_length, l.rotation_start, l.end_at, s.time_zone
      INTO layer
      FROM schedule_layers l
      JOIN on_call_schedules s ON s.id = l.schedule_id
     WHERE l.id = p_layer;
    IF NOT FOUND OR layer.rotation_start IS NULL OR layer.time_zone IS NULL
       OR layer.rotation_length IS NULL OR layer.rotation_length < 1 THEN
        RETURN;
    END IF;

    lo := greatest(p_from, layer.rotation_start);
    hi := least(p_to, layer.end_at);  -- least() ignores a NULL end_at
    IF lo >= hi THEN
        RETURN;
    END IF;
    RETURN NEXT lo;
    IF hi < p_to THEN
        RETURN NEXT hi;
    END IF;

    local_lo := lo AT TIME ZONE layer.time_zone;
    local_hi := hi AT TIME ZONE layer.time_zone;
    local_start := layer.rotation_start AT TIME ZONE layer.time_zone;

    -- Hand-offs.
    IF layer.rotation_unit = 'hours' THEN
        step_seconds := layer.rotation_length::numeric * 3600;
        first_turn := floor(extract(epoch FROM lo - layer.rotation_start) / step_seconds);
        last_turn := ceil(extract(epoch FROM hi - layer.rotation_start) / step_seconds);
        RETURN QUERY
            SELECT layer.rotation_start + n * layer.rotation_length * interval '1 hour'
              FROM generate_series(first_turn, last_turn) AS n;
    ELSIF layer.rotation_unit IN ('days', 'weeks') THEN
        step_seconds := layer.rotation_length::numeric
                        * CASE layer.rotation_unit WHEN 'weeks' THEN 7 ELSE 1 END * 86400;
        first_turn := floor(extract(epoch FROM local_lo - local_start) / step_seconds) - 1;
        last_turn := ceil(extract(epoch FROM local_hi - local_start) / step_seconds) + 1;
        RETURN QUERY
            SELECT t
              FROM generate_series(first_turn, last_turn) AS n,
                   oncall_local_instants(local_start + n * (step_seconds / 86400)::int
                                                     * interval '1 day', layer.time_zone) AS t;
    END IF;

    -- Restriction starts and ends, per local day (weekly ones on their weekday).
    RETURN QUERY
        SELECT t
          FROM schedule_restrictions r,
               generate_series(local_lo::date::timestamp - interval '7 days',
                               local_hi::date::timestamp + interval '1 day',
                               interval '1 day') AS d,
               LATERAL (VALUES (d + r.start_time),
                               (d + r.start_time + r.duration_minutes * interval '1 minute'))
                   AS edge (local_ts),
               oncall_local_instants(edge.local_ts, layer.time_zone) AS t
         WHERE r.layer_id = p_layer
           AND (r.kind = 'daily' AND d >= local_lo::date::timestamp - interval '1 day'
                OR r.kind = 'weekly' AND extract(isodow FROM d) = r.start_day_of_week);
EXCEPTION WHEN data_exception THEN
    RETURN;
END
$fn$;

-- The final schedule between from_at and to_at: on_call_user evaluated at every boundary
-- (window start, every layer's boundaries, override starts and ends, DST transitions),
-- consecutive equal answers merged, nobody-on-call gaps dropped, clipped to the window.
-- The window is capped at 366 days so a careless caller cannot run away.
CREATE OR REPLACE FUNCTION schedule_shifts(schedule_id uuid, from_at timestamptz, to_at timestamptz)
    RETURNS TABLE (user_id uuid, start_at timestamptz, end_at timestamptz)
    LANGUAGE plpgsql STABLE
    AS $fn$
DECLARE
    p_schedule ALIAS FOR $1;
    p_from ALIAS FOR $2;
    window_end timestamptz;
    zone text;
    bounds timestamptz[];
BEGIN
    IF p_schedule IS NULL OR $2 IS NULL OR $3 IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        window_end := least($3, p_from + interval '366 days');
    EXCEPTION WHEN data_exception THEN
        RETURN;
    END;
    IF window_end <= p_from OR NOT isfinite(p_from) OR NOT isfinite(window_end) THEN
        RETURN;
    END IF;
    SELECT s.time_zone INTO zone FROM on_call_schedules s WHERE s.id = p_schedule;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    SELECT array_agg(DISTINCT b.t ORDER BY b.t) INTO bounds
      FROM (SELECT p_from AS t
            UNION ALL
            SELECT lb FROM schedule_layers l, oncall_layer_boundaries(l.id, p_from, window_end) lb
             WHERE l.schedule_id = p_schedule
            UNION ALL
            SELECT edge
              FROM schedule_overrides o, LATERAL (VALUES (o.start_at), (o.end_at)) AS e (edge)
             WHERE o.schedule_id = p_schedule AND o.start_at < window_end AND o.end_at > p_from
            UNION ALL
            SELECT oncall_zone_transitions(zone, p_from, window_end)) AS b
     WHERE b.t >= p_from AND b.t < window_end;

    RETURN QUERY
        WITH segment AS (
            SELECT bound AS seg_start,
                   lead(bound, 1, window_end) OVER (ORDER BY bound) AS seg_end,
                   on_call_user(p_schedule, bound) AS seg_user
              FROM unnest(bounds) AS bound
        ), marked AS (
            SELECT seg.*,
                   count(*) FILTER (WHERE seg.changed) OVER (ORDER BY seg.seg_start) AS grp
              FROM (SELECT segment.*,
                           segment.seg_user IS DISTINCT FROM lag(segment.seg_user)
                               OVER (ORDER BY segment.seg_start) AS changed
                      FROM segment) AS seg
        )
        SELECT marked.seg_user, min(marked.seg_start), max(marked.seg_end)
          FROM marked
         WHERE marked.seg_user IS NOT NULL
         GROUP BY marked.grp, marked.seg_user
         ORDER BY 2;
END
$fn$;

-- One layer's shifts (for a calendar's per-layer rows), built the same way from
-- schedule_layer_user; overrides and other layers do not apply.
CREATE OR REPLACE FUNCTION schedule_layer_shifts(layer_id uuid, from_at timestamptz, to_at timestamptz)
    RETURNS TABLE (user_id uuid, start_at timestamptz, end_at timestamptz)
    LANGUAGE plpgsql STABLE
    AS $fn$
DECLARE
    p_layer ALIAS FOR $1;
    p_from ALIAS FOR $2;
    window_end timestamptz;
    zone text;
    bounds timestamptz[];
BEGIN
    IF p_layer IS NULL OR $2 IS NULL OR $3 IS NULL THEN
        RETURN;
    END IF;
    BEGIN
        window_end := least($3, p_from + interval '366 days');
    EXCEPTION WHEN data_exception THEN
        RETURN;
    END;
    IF window_end <= p_from OR NOT isfinite(p_from) OR NOT isfinite(window_end) THEN
        RETURN;
    END IF;
    SELECT s.time_zone INTO zone
      FROM schedule_layers l JOIN on_call_schedules s ON s.id = l.schedule_id
     WHERE l.id = p_layer;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    SELECT array_agg(DISTINCT b.t ORDER BY b.t) INTO bounds
      FROM (SELECT p_from AS t
            UNION ALL
            SELECT oncall_layer_boundaries(p_layer, p_from, window_end)
            UNION ALL
            SELECT oncall_zone_transitions(zone, p_from, window_end)) AS b
     WHERE b.t >= p_from AND b.t < window_end;

    RETURN QUERY
        WITH segment AS (
            SELECT bound AS seg_start,
                   lead(bound, 1, window_end) OVER (ORDER BY bound) AS seg_end,
                   schedule_layer_user(p_layer, bound) AS seg_user
              FROM unnest(bounds) AS bound
        ), marked AS (
            SELECT seg.*,
                   count(*) FILTER (WHERE seg.changed) OVER (ORDER BY seg.seg_start) AS grp
              FROM (SELECT segment.*,
                           segment.seg_user IS DISTINCT FROM lag(segment.seg_user)
                               OVER (ORDER BY segment.seg_start) AS changed
                      FROM segment) AS seg
        )
        SELECT marked.seg_user, min(marked.seg_start), max(marked.seg_end)
          FROM marked
         WHERE marked.seg_user IS NOT NULL
         GROUP BY marked.grp, marked.seg_user
         ORDER BY 2;
END
$fn$;

-- A schedule's time zone must be one PostgreSQL knows by name, or every function above
-- would answer NULL for it. Model validation says so first; this holds for any writer.
-- (pg_timezone_names, not "AT TIME ZONE", which also accepts POSIX strings like 'Foo+3'.)
CREATE OR REPLACE FUNCTION on_call_schedules_check_time_zone() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
BEGIN
    IF NEW.time_zone IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_timezone_names z WHERE z.name = NEW.time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %', quote_literal(coalesce(NEW.time_zone, 'NULL'))
            USING ERRCODE = 'check_violation',
                  HINT = 'Use an IANA time zone name such as Europe/Berlin.',
                  COLUMN = 'time_zone',
                  TABLE = 'on_call_schedules';
    END IF;
    RETURN NEW;
END
$fn$;

DROP TRIGGER IF EXISTS on_call_schedules_time_zone ON on_call_schedules;
CREATE TRIGGER on_call_schedules_time_zone
    BEFORE INSERT OR UPDATE OF time_zone ON on_call_schedules
    FOR EACH ROW EXECUTE FUNCTION on_call_schedules_check_time_zone();

-- The one narrow path past row-level security: an anonymous iCal request knows only the
-- schedule's secret token, so it asks which organization that schedule belongs to and then
-- runs everything else inside organization_scope(org). Owned by the schema owner (the
-- migration's role), which bypasses RLS; it reveals nothing but an organization id for a
-- token the caller already holds.
CREATE OR REPLACE FUNCTION schedule_organization_for_ical_token(token text)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public, pg_temp
    AS $fn$
        SELECT s.organization_id FROM public.on_call_schedules s
         WHERE token IS NOT NULL AND token <> '' AND s.ical_token = token
    $fn$;
-- reverse
DROP FUNCTION IF EXISTS schedule_organization_for_ical_token(text);
DROP TRIGGER IF EXISTS on_call_schedules_time_zone ON on_call_schedules;
DROP FUNCTION IF EXISTS on_call_schedules_check_time_zone();
DROP FUNCTION IF EXISTS schedule_layer_shifts(uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS schedule_shifts(uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS oncall_layer_boundaries(uuid, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS on_call_user(uuid, timestamptz);
DROP FUNCTION IF EXISTS schedule_layer_user(uuid, timestamptz);
DROP FUNCTION IF EXISTS oncall_zone_transitions(text, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS oncall_local_instants(timestamp, text);
