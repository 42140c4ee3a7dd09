-- Schema version 9: a search of a common word reads the newest months
-- first.
--
-- "Müll" matches 21,000 of a million cases (Müller, the village
-- Müllenbach); the queue shows the newest 50. Fetching and sorting every
-- match took 40 ms and more; walking the queue in display order and
-- testing each case, 30 ms and more for an administrator (30 ranges of
-- office and status, each to its first match). The search row now knows
-- its case's month of receipt, with a btree index (month, office): the
-- queue asks for the matches since a month first (storage/postgres/
-- queue.go), and PostgreSQL intersects that range of the btree with the
-- matches of the GIN index (BitmapAnd) before it reads a row. The window
-- widens only while it holds less than the page. (Months as keys of the
-- GIN index did not do: a list of months made one index scan per month.)

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

-- The month of a time as a number (year * 12 + month - 1, UTC): the
-- later month has the larger number.
CREATE FUNCTION amtstresen.case_month(t timestamptz) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (extract(year FROM t AT TIME ZONE 'UTC') * 12 + extract(month FROM t AT TIME ZONE 'UTC') - 1)::integer;

ALTER TABLE amtstresen.case_search ADD COLUMN month integer NOT NULL DEFAULT 0;
ALTER TABLE amtstresen.cases NO FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search NO FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search DISABLE TRIGGER USER;
UPDATE amtstresen.case_search s SET month = amtstresen.case_month(c.received_at) FROM amtstresen.cases c WHERE c.id = s.case_id;
ALTER TABLE amtstresen.case_search ENABLE TRIGGER USER;
ALTER TABLE amtstresen.cases FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search FORCE ROW LEVEL SECURITY;
CREATE INDEX case_search_month ON amtstresen.case_search (month, office);

-- The office and month of a search row are its case's: set when the row
-- is written, and when the case is forwarded or its time corrected.
CREATE OR REPLACE FUNCTION amtstresen.case_search_office() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    SELECT c.office, amtstresen.case_month(c.received_at) INTO NEW.office, NEW.month
        FROM amtstresen.cases c WHERE c.id = NEW.case_id;
    NEW.office := coalesce(NEW.office, '');
    NEW.month := coalesce(NEW.month, 0);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION amtstresen.case_office_moved() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- case_search_office sets office and month from the case.
    UPDATE amtstresen.case_search SET office = NEW.office WHERE case_id = NEW.id;
    RETURN NULL;
END
$$;
DROP TRIGGER cases_search_office ON amtstresen.cases;
CREATE TRIGGER cases_search_office AFTER UPDATE OF office, received_at ON amtstresen.cases
    FOR EACH ROW WHEN (OLD.office IS DISTINCT FROM NEW.office OR OLD.received_at IS DISTINCT FROM NEW.received_at)
    EXECUTE FUNCTION amtstresen.case_office_moved();

GRANT SELECT (received_at) ON amtstresen.cases TO amtstresen_lookup;
GRANT SELECT (month), UPDATE (month) ON amtstresen.case_search TO amtstresen_lookup;

-- As search_case_ids of version 7, and only of the cases received in
-- since_month or later (NULL: any). Dynamic SQL: the month and office
-- conditions are there only when asked (a condition "since_month IS NULL
-- OR …" could not use the index), and each call is planned for its own
-- query and month.
CREATE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer, since_month integer) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q tsquery := amtstresen.search_words_query(words);
    mine text[];
    cond text := 's.doc @@ $1';
BEGIN
    IF q IS NULL THEN
        RETURN;
    END IF;
    IF since_month IS NOT NULL THEN
        cond := cond || ' AND s.month >= $4';
    END IF;
    IF pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_sync', 'MEMBER')
       OR pg_has_role(session_user, 'amtstresen_purge', 'MEMBER') THEN
        IF only_offices IS NOT NULL THEN
            cond := cond || ' AND s.office = ANY ($2)';
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id FROM amtstresen.case_search s WHERE ' || cond || ' LIMIT $5'
            USING q, only_offices, mine, since_month, max_rows;
        RETURN;
    END IF;
    IF NOT (pg_has_role(session_user, 'amtstresen_clerk', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_lead', 'MEMBER')) THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(o.key), '{}') INTO mine FROM amtstresen.offices o WHERE pg_has_role(session_user, o.role, 'MEMBER');
    IF 'kreis' = ANY (mine) THEN
        mine := mine || ''::text;
    END IF;
    IF pg_has_role(session_user, 'amtstresen_lead', 'MEMBER') THEN
        IF only_offices IS NOT NULL THEN
            cond := cond || ' AND s.office = ANY ($2)';
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id WHERE ' || cond
            || ' AND (s.office = ANY ($3) OR c.office = '''' OR ''routing-unclear'' = ANY (c.flags)) LIMIT $5'
            USING q, only_offices, mine, since_month, max_rows;
    ELSE
        IF only_offices IS NOT NULL THEN
            mine := ARRAY(SELECT unnest(mine) INTERSECT SELECT unnest(only_offices));
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id FROM amtstresen.case_search s WHERE ' || cond || ' AND s.office = ANY ($3) LIMIT $5'
            USING q, only_offices, mine, since_month, max_rows;
    END IF;
END
$$;

-- The version without months asks the one with.
CREATE OR REPLACE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN QUERY SELECT amtstresen.search_case_ids(words, only_offices, max_rows, NULL::integer);
END
$$;

REVOKE ALL ON FUNCTION amtstresen.search_case_ids(text[], text[], integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.search_case_ids(text[], text[], integer, integer) TO amtstresen_konto;
ALTER FUNCTION amtstresen.search_case_ids(text[], text[], integer, integer) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
