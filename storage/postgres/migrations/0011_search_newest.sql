-- Schema version 11: a search's newest matches without looking up every
-- match's case.
--
-- A word with some thousand matches ("Zöl", "Anna Schmi" as the
-- administration) cost most of its time in looking up each match's case
-- (8 µs each: 17 ms for 2,000) only to sort them by date and show 50. The
-- search row knows its month (version 9): search_newest_case_ids returns
-- only the matches of the newest months that hold the first n, which
-- contain the n newest (every match of an older month is older than n
-- others); the queue sorts those (storage/postgres/queue.go, for a search
-- without other conditions).

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

-- The matches with their months, by the rules of search_case_ids
-- (version 9, whose body moves here).
CREATE FUNCTION amtstresen.search_case_months(words text[], only_offices text[], since_month integer) RETURNS TABLE (case_id bigint, month integer)
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

CREATE OR REPLACE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer, since_month integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT m.case_id FROM amtstresen.search_case_months(words, only_offices, since_month) m LIMIT max_rows;
    END;

-- The matches of the newest months that hold the first n matches (all
-- matches when there are fewer).
CREATE FUNCTION amtstresen.search_newest_case_ids(words text[], only_offices text[], n integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        WITH m AS MATERIALIZED (SELECT * FROM amtstresen.search_case_months(words, only_offices, NULL))
        SELECT m.case_id FROM m
        WHERE m.month >= coalesce((SELECT k.month FROM m k ORDER BY k.month DESC OFFSET greatest(n, 1) - 1 LIMIT 1), -2147483648);
    END;

REVOKE ALL ON FUNCTION amtstresen.search_case_months(text[], text[], integer), amtstresen.search_newest_case_ids(text[], text[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.search_newest_case_ids(text[], text[], integer) TO amtstresen_konto;
ALTER FUNCTION amtstresen.search_case_months(text[], text[], integer) OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_newest_case_ids(text[], text[], integer) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
