-- Schema version 13: a search among the open cases reads only theirs.
--
-- The window searches the open cases unless the clerk asks for others,
-- and after some years 98 % of the cases are closed. "Schmidt" in VG Zell
-- matched 1,217 search rows of a million cases, 21 of them open; reading
-- every match's row to test it against the filter took 20 ms, the 21 open
-- ones 0.3 ms. The search row now says whether its case may be open, with
-- a GIN index of the open rows only; search_case_ids reads that index
-- when every status asked for is open (storage/postgres/queue.go).
--
-- Every open case's row has open set; a closed case's row may keep it
-- until its next status change (a new row starts with it set, as a new
-- case is open), which costs that index a row, never a match: the queue
-- tests the status on the case itself.

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

ALTER TABLE amtstresen.case_search ADD COLUMN open boolean NOT NULL DEFAULT false;
ALTER TABLE amtstresen.cases NO FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search NO FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search DISABLE TRIGGER USER;
UPDATE amtstresen.case_search s SET open = true FROM amtstresen.cases c
    WHERE c.id = s.case_id AND c.status NOT IN ('done', 'rejected', 'withdrawn');
ALTER TABLE amtstresen.case_search ENABLE TRIGGER USER;
ALTER TABLE amtstresen.cases FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search ALTER COLUMN open SET DEFAULT true;
CREATE INDEX case_search_open ON amtstresen.case_search USING gin (office, doc) WHERE open;

-- A case closed or opened again: its search row follows (app.Status.Final).
CREATE FUNCTION amtstresen.case_status_moved() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE amtstresen.case_search SET open = NEW.status NOT IN ('done', 'rejected', 'withdrawn') WHERE case_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_search_open AFTER UPDATE OF status ON amtstresen.cases
    FOR EACH ROW WHEN ((OLD.status NOT IN ('done', 'rejected', 'withdrawn')) IS DISTINCT FROM (NEW.status NOT IN ('done', 'rejected', 'withdrawn')))
    EXECUTE FUNCTION amtstresen.case_status_moved();
GRANT SELECT (open), UPDATE (open) ON amtstresen.case_search TO amtstresen_lookup;

-- The rules of search_case_months (version 11), and with open_only only
-- the rows of cases that may be open.
CREATE FUNCTION amtstresen.search_case_months(words text[], only_offices text[], since_month integer, open_only boolean) RETURNS TABLE (case_id bigint, month integer)
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
    IF open_only THEN
        -- A literal condition: the planner matches it to the partial index.
        cond := cond || ' AND s.open';
    END IF;
    IF pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_sync', 'MEMBER')
       OR pg_has_role(session_user, 'amtstresen_purge', 'MEMBER') THEN
        IF only_offices IS NOT NULL THEN
            cond := cond || ' AND s.office = ANY ($2)';
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id, s.month FROM amtstresen.case_search s WHERE ' || cond
            USING q, only_offices, mine, since_month;
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
        RETURN QUERY EXECUTE 'SELECT s.case_id, s.month FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id WHERE ' || cond
            || ' AND (s.office = ANY ($3) OR c.office = '''' OR ''routing-unclear'' = ANY (c.flags))'
            USING q, only_offices, mine, since_month;
    ELSE
        IF only_offices IS NOT NULL THEN
            mine := ARRAY(SELECT unnest(mine) INTERSECT SELECT unnest(only_offices));
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id, s.month FROM amtstresen.case_search s WHERE ' || cond || ' AND s.office = ANY ($3)'
            USING q, only_offices, mine, since_month;
    END IF;
END
$$;

-- The rules live in one body: the version 11 function calls it.
CREATE OR REPLACE FUNCTION amtstresen.search_case_months(words text[], only_offices text[], since_month integer) RETURNS TABLE (case_id bigint, month integer)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT m.case_id, m.month FROM amtstresen.search_case_months(words, only_offices, since_month, false) m;
    END;

CREATE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer, since_month integer, open_only boolean) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT m.case_id FROM amtstresen.search_case_months(words, only_offices, since_month, open_only) m LIMIT max_rows;
    END;

REVOKE ALL ON FUNCTION amtstresen.case_status_moved(), amtstresen.search_case_months(text[], text[], integer, boolean),
    amtstresen.search_case_ids(text[], text[], integer, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.search_case_ids(text[], text[], integer, integer, boolean) TO amtstresen_konto;
ALTER FUNCTION amtstresen.case_status_moved() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_case_months(text[], text[], integer, boolean) OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_case_ids(text[], text[], integer, integer, boolean) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
