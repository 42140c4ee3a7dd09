-- Schema version 15: the words of each office in an index of its own.
--
-- The search index held each row's office beside its words (version 4),
-- and a clerk's search intersected the word's entries with the office's.
-- The office's list has an entry for every case of the office (200,000 of
-- a million cases for VG Zell), and the index read most of it for every
-- search: "Müll" in Zell, 1,842 matches, took 6.2 ms in the index alone.
-- With an index of Zell's words only, 0.74 ms. Every row is in exactly one
-- of these indexes, as it was in the one before; an office key not listed
-- here (none today) is in case_search_doc_other. The search reads one arm
-- per office with its key written out (search_case_months), which is how
-- the planner picks each office's index.

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

CREATE INDEX case_search_doc_unrouted ON amtstresen.case_search USING gin (doc) WHERE office = '';
CREATE INDEX case_search_doc_kreis ON amtstresen.case_search USING gin (doc) WHERE office = 'kreis';
CREATE INDEX case_search_doc_vg_cochem ON amtstresen.case_search USING gin (doc) WHERE office = 'vg-cochem';
CREATE INDEX case_search_doc_vg_kaisersesch ON amtstresen.case_search USING gin (doc) WHERE office = 'vg-kaisersesch';
CREATE INDEX case_search_doc_vg_ulmen ON amtstresen.case_search USING gin (doc) WHERE office = 'vg-ulmen';
CREATE INDEX case_search_doc_vg_zell ON amtstresen.case_search USING gin (doc) WHERE office = 'vg-zell';
CREATE INDEX case_search_doc_other ON amtstresen.case_search USING gin (doc)
    WHERE office <> ALL ('{"",kreis,vg-cochem,vg-kaisersesch,vg-ulmen,vg-zell}'::text[]);
DROP INDEX amtstresen.case_search_office_doc;

-- The rules of version 13, the offices read one by one.
CREATE OR REPLACE FUNCTION amtstresen.search_case_months(words text[], only_offices text[], since_month integer, open_only boolean) RETURNS TABLE (case_id bigint, month integer)
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q tsquery := amtstresen.search_words_query(words);
    -- The offices with an index of their own; written as in the index
    -- case_search_doc_other, whose condition the planner must recognise.
    indexed CONSTANT text[] := '{"",kreis,vg-cochem,vg-kaisersesch,vg-ulmen,vg-zell}';
    mine text[];
    offices text[];
    cond text := 's.doc @@ $1';
    src text := 'amtstresen.case_search s';
    tail text := '';
    sql text;
BEGIN
    IF q IS NULL THEN
        RETURN;
    END IF;
    IF since_month IS NOT NULL THEN
        cond := cond || ' AND s.month >= $2';
    END IF;
    IF open_only THEN
        -- A literal condition: the planner matches it to the open rows' index.
        cond := cond || ' AND s.open';
    END IF;
    IF pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_sync', 'MEMBER')
       OR pg_has_role(session_user, 'amtstresen_purge', 'MEMBER') THEN
        offices := only_offices; -- NULL: every office
    ELSIF pg_has_role(session_user, 'amtstresen_clerk', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_lead', 'MEMBER') THEN
        SELECT coalesce(array_agg(o.key), '{}') INTO mine FROM amtstresen.offices o WHERE pg_has_role(session_user, o.role, 'MEMBER');
        IF 'kreis' = ANY (mine) THEN
            mine := mine || ''::text;
        END IF;
        IF pg_has_role(session_user, 'amtstresen_lead', 'MEMBER') THEN
            -- A lead also sees every office's cases with an open routing question.
            offices := only_offices;
            src := src || ' JOIN amtstresen.cases c ON c.id = s.case_id';
            tail := ' AND (s.office = ANY ($3) OR c.office = '''' OR ''routing-unclear'' = ANY (c.flags))';
        ELSIF only_offices IS NULL THEN
            offices := mine;
        ELSE
            offices := ARRAY(SELECT unnest(mine) INTERSECT SELECT unnest(only_offices));
        END IF;
    ELSE
        RETURN;
    END IF;
    SELECT string_agg(format('SELECT s.case_id, s.month FROM %s WHERE s.office = %L AND %s%s%s', src, o, cond,
               CASE WHEN o = ANY (indexed) THEN '' ELSE format(' AND s.office <> ALL (%L::text[])', indexed) END, tail), ' UNION ALL ')
        INTO sql FROM unnest(coalesce(offices, indexed)) AS u(o);
    IF offices IS NULL THEN
        sql := coalesce(sql || ' UNION ALL ', '') || format('SELECT s.case_id, s.month FROM %s WHERE s.office <> ALL (%L::text[]) AND %s%s',
            src, indexed, cond, tail);
    END IF;
    IF sql IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE sql USING q, since_month, mine;
END
$$;

-- Version 7's body asked the index for all offices at once; the rules
-- now live in search_case_months alone.
CREATE OR REPLACE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT m.case_id FROM amtstresen.search_case_months(words, only_offices, NULL, false) m LIMIT max_rows;
    END;

-- As in version 7, asking each office's index.
CREATE OR REPLACE FUNCTION amtstresen.prune_search_words() RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    n integer;
BEGIN
    LOCK TABLE amtstresen.search_words IN ACCESS EXCLUSIVE MODE;
    WITH gone AS (DELETE FROM amtstresen.search_words_gone RETURNING lexeme)
    DELETE FROM amtstresen.search_words w USING (SELECT DISTINCT lexeme, amtstresen.quote_lexeme(lexeme)::tsquery AS q FROM gone) g
        WHERE w.lexeme = g.lexeme
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = '' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = 'kreis' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = 'vg-cochem' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = 'vg-kaisersesch' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = 'vg-ulmen' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.office = 'vg-zell' AND s.doc @@ g.q)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s
                          WHERE s.office <> ALL ('{"",kreis,vg-cochem,vg-kaisersesch,vg-ulmen,vg-zell}'::text[]) AND s.doc @@ g.q);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
