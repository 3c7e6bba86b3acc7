-- check_results, partitioned by day on checked_at, and narrow enough for volume.
--
-- Why: at 10,000 checks a minute a day is 14 million results. Retention then drops whole
-- days (DROP TABLE: no row deletes, no vacuum debt, no bloat), and the rows and their one
-- b-tree stay small: the check is its 4-byte series_id (monitoring_checks.series_id), not its
-- 16-byte uuid, which also lets PostgreSQL fill the (check, time) index pages 90% instead of
-- half (it packs pages for narrow keys inserted in ascending order per check).
--
-- Layout: check_results_pYYYYMMDD holds one UTC day; check_results_default takes anything
-- outside the days created (a backfill, a clock far off, beat down for a week), so an insert
-- never fails. create_check_result_partitions() creates days ahead (beat, hourly; and here);
-- when it creates a day that already has rows in the default partition it moves them in.
-- cleanup_old_data() (alert24/sql) drops days past retention and trims the default partition.
--
-- Indexes: the primary key (series_id, checked_at) answers "results of this check, newest
-- first" and the cascade from monitoring_checks; a BRIN on checked_at (a few pages per
-- partition) serves time-range scans such as the statistics refresh. The latest result of
-- every check is on the check row (last_checked_at, last_status, ...), no index needed.
--
-- Row-level security: the parent has the policy every query through it gets; each partition
-- has the same one, so reading a partition directly is no way around it.

ALTER TABLE check_results RENAME TO check_results_unpartitioned;
ALTER INDEX IF EXISTS check_results_time_brin RENAME TO check_results_unpartitioned_time_brin;
ALTER INDEX IF EXISTS check_results_pkey RENAME TO check_results_unpartitioned_pkey;

CREATE TABLE check_results (
    series_id integer NOT NULL,
    checked_at timestamptz NOT NULL,
    location_id smallint,
    status smallint NOT NULL,
    response_time_ms integer,
    reason text,
    CONSTRAINT check_results_status_valid CHECK (status IN (0, 1, 2)),
    CONSTRAINT check_results_pkey PRIMARY KEY (series_id, checked_at)
) PARTITION BY RANGE (checked_at);

CREATE INDEX check_results_time_brin ON check_results USING brin (checked_at);
CREATE TABLE check_results_default PARTITION OF check_results DEFAULT;

-- Creates the daily partitions covering p_from .. p_through (UTC days), skipping days that
-- exist; returns how many it created. Callable from psql, idempotent, safe with NULLs.
-- ATTACH PARTITION (not CREATE TABLE ... PARTITION OF) so readers and writers of
-- check_results are not blocked: it needs only a SHARE UPDATE EXCLUSIVE lock on the parent.
CREATE OR REPLACE FUNCTION create_check_result_partitions(
    p_from timestamptz DEFAULT now() - interval '1 day',
    p_through timestamptz DEFAULT now() + interval '7 days'
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := (COALESCE(p_from, now() - interval '1 day') AT TIME ZONE 'UTC')::date;
    last_day date := (COALESCE(p_through, now() + interval '7 days') AT TIME ZONE 'UTC')::date;
    day date;
    lower_bound timestamptz;
    part text;
    created integer := 0;
BEGIN
    IF to_regclass('public.check_results') IS NULL THEN
        RETURN 0;
    END IF;
    IF last_day - first_day > 400 THEN
        RAISE EXCEPTION 'create_check_result_partitions: % days asked, at most 400',
            last_day - first_day USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR day IN SELECT d::date FROM generate_series(first_day, last_day, interval '1 day') d LOOP
        part := 'check_results_p' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('public.' || part) IS NOT NULL;
        lower_bound := day::timestamp AT TIME ZONE 'UTC';
        EXECUTE format('CREATE TABLE %I (LIKE check_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       part);
        IF to_regclass('public.check_results_default') IS NOT NULL THEN
            EXECUTE format('WITH moved AS (DELETE FROM check_results_default'
                           ' WHERE checked_at >= $1 AND checked_at < $2 RETURNING *)'
                           ' INSERT INTO %I SELECT * FROM moved', part)
                USING lower_bound, lower_bound + interval '1 day';
        END IF;
        EXECUTE format('ALTER TABLE check_results ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                       part, lower_bound, lower_bound + interval '1 day');
        PERFORM check_results_partition_security(part);
        created := created + 1;
    END LOOP;
    RETURN created;
END
$$;

-- The parent's row-level security on one partition (for direct access to it).
CREATE OR REPLACE FUNCTION check_results_partition_security(p_partition text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', p_partition);
    EXECUTE format('DROP POLICY IF EXISTS check_results_organization_isolation ON %I',
                   p_partition);
    EXECUTE format('CREATE POLICY check_results_organization_isolation ON %1$I'
                   ' USING (EXISTS (SELECT 1 FROM monitoring_checks c'
                   '                WHERE c.series_id = %1$I.series_id))'
                   ' WITH CHECK (EXISTS (SELECT 1 FROM monitoring_checks c'
                   '                     WHERE c.series_id = %1$I.series_id))', p_partition);
END
$$;

-- The last 30 days (retention) and the coming week exist from the start, so existing and
-- backfilled results land in days that retention can drop whole.
SELECT create_check_result_partitions(now() - interval '30 days', now() + interval '7 days');

INSERT INTO check_results (series_id, checked_at, location_id, status, response_time_ms, reason)
SELECT c.series_id, r.checked_at, r.location_id, r.status, r.response_time_ms, r.reason
FROM check_results_unpartitioned r
JOIN monitoring_checks c ON c.id = r.check_id
ON CONFLICT (series_id, checked_at) DO NOTHING;
DROP TABLE check_results_unpartitioned;

ALTER TABLE check_results
    ADD CONSTRAINT check_results_check_fk FOREIGN KEY (series_id)
    REFERENCES monitoring_checks (series_id) ON DELETE CASCADE;

ALTER TABLE check_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY check_results_organization_isolation ON check_results
    USING (EXISTS (SELECT 1 FROM monitoring_checks c
                   WHERE c.series_id = check_results.series_id))
    WITH CHECK (EXISTS (SELECT 1 FROM monitoring_checks c
                        WHERE c.series_id = check_results.series_id));
SELECT check_results_partition_security('check_results_default');
-- reverse
-- Back to one plain table keyed by a bigint, with the check's uuid; the data comes along.
ALTER TABLE check_results RENAME TO check_results_partitioned;
ALTER INDEX IF EXISTS check_results_time_brin RENAME TO check_results_partitioned_time_brin;
ALTER INDEX IF EXISTS check_results_pkey RENAME TO check_results_partitioned_pkey;
CREATE TABLE check_results (
    id bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,
    checked_at timestamptz NOT NULL,
    status smallint NOT NULL,
    response_time_ms integer NULL,
    reason text NULL,
    check_id uuid NOT NULL,
    location_id smallint NULL,
    CONSTRAINT check_results_status_valid CHECK (status IN (0, 1, 2))
);
INSERT INTO check_results (checked_at, status, response_time_ms, reason, check_id, location_id)
SELECT r.checked_at, r.status, r.response_time_ms, r.reason, c.id, r.location_id
FROM check_results_partitioned r
JOIN monitoring_checks c ON c.series_id = r.series_id
ORDER BY r.checked_at;
DROP TABLE check_results_partitioned CASCADE;
DROP FUNCTION IF EXISTS create_check_result_partitions(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS check_results_partition_security(text);
CREATE INDEX check_results_check_idx ON check_results (check_id, checked_at DESC);
CREATE INDEX check_results_time_brin ON check_results USING brin (checked_at);
CREATE INDEX check_results_check_id_96857f6a ON check_results (check_id);
CREATE INDEX check_results_location_id_ea439eb1 ON check_results (location_id);
ALTER TABLE check_results ADD CONSTRAINT check_results_location_id_ea439eb1_fk_monitoring_locations_id
    FOREIGN KEY (location_id) REFERENCES monitoring_locations (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE check_results ADD CONSTRAINT check_results_check_fk FOREIGN KEY (check_id)
    REFERENCES monitoring_checks (id) ON DELETE CASCADE;
ALTER TABLE check_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY check_results_organization_isolation ON check_results
    USING (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id))
    WITH CHECK (EXISTS (SELECT 1 FROM monitoring_checks c WHERE c.id = check_id));
