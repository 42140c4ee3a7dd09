-- Schema version 15: the search index keeps every word under its case's
-- office (issue 15).
--
-- The GIN index of version 4 held the office as a key of its own beside
-- the words (gin (office, doc)). A clerk's search intersected the postings
-- of the word with those of the office: "Müll" in VG Zell walked the
-- 20,000 postings of "muller" and the 200,000 of "vg-zell" to find 1,800
-- cases (6.2 ms), and under 50 clerks at once such searches set the 99th
-- percentile. Now the index holds "muller/vg-zell": a search reads the
-- postings of the offices searched alone, one office at a time. The
-- search row keeps its words as before (the word list, the purge and the
-- walk in display order read doc); the index is on an expression of
-- office and doc. Words hold letters and digits only (casetext.Separator
-- and the parser), never "/"; "muller/" begins the words "muller" of
-- every office (prune_search_words).
--
-- Each search row is in one of two indexes: that of rows marked open
-- (version 13) or that of the others. A new case's row, and so each row
-- the sync writes, costs one GIN insert instead of two; a search among all
-- statuses reads both.

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

-- The words of doc, each as word/office, without positions (the searches
-- ask for words, never for phrases), and the month of receipt as a word
-- of its own ("~" begins no word): 'anna':1 'muller':2 of VG Zell,
-- received in March 2026, is 'anna/vg-zell' 'muller/vg-zell'
-- '~24314/vg-zell'. A search of the last months asks for the words and
-- one of the months, and GIN skips through the months' long lists to the
-- words' matches; intersecting the words with the index of months read
-- every case of the months (6 months: 52,000 entries, 4 ms per index).
-- Built on the text form of the stripped vector, whose words are quoted
-- and separated by one space. Immutable functions in one expression only
-- (array_to_string is stable), so that the planner inlines it into the
-- index and the queries alike. Office keys have no quote, backslash or
-- space.
CREATE FUNCTION amtstresen.office_words(office text, doc tsvector, month integer) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN pg_catalog.length(doc) = 0 THEN ''::pg_catalog.tsvector
        ELSE (pg_catalog.left(pg_catalog.replace(pg_catalog.strip(doc)::text, ''' ''', '/' || office || ''' '''), -1)
              || '/' || office || ''' ''~' || month::text || '/' || office || '''')::pg_catalog.tsvector END;

DROP INDEX amtstresen.case_search_office_doc;
DROP INDEX amtstresen.case_search_open;
CREATE INDEX case_search_open_words ON amtstresen.case_search USING gin (amtstresen.office_words(office, doc, month)) WHERE open;
CREATE INDEX case_search_closed_words ON amtstresen.case_search USING gin (amtstresen.office_words(office, doc, month)) WHERE NOT open;

-- search_words_query of version 7 with each word under the office:
-- ('muller/vg-zell' | 'mullenbach/vg-zell'). A beginning that stays a
-- prefix ('m':*, more than 64 words or none) matches the words of every
-- office: the caller tests the office too. NULL when there is no word or
-- no office.
CREATE FUNCTION amtstresen.search_words_query(words text[], office text) RETURNS tsquery
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT pg_catalog.string_agg(e.operand, ' & ' ORDER BY e.n)::tsquery
        FROM (SELECT l.n,
                     CASE WHEN f.found NOT BETWEEN 1 AND 64 THEN amtstresen.quote_lexeme(l.lexeme) || ':*'
                          ELSE (SELECT '(' || pg_catalog.string_agg(amtstresen.quote_lexeme(a.lexeme || '/' || office), ' | ') || ')'
                                FROM unnest(f.lexemes) AS a(lexeme)) END AS operand
              FROM unnest(words) WITH ORDINALITY AS w(word, wn),
                   LATERAL unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('amtstresen.search'::regconfig, w.word)))
                       WITH ORDINALITY AS l0(lexeme, ln),
                   LATERAL (SELECT l0.lexeme, w.wn * 1000 + l0.ln AS n) AS l,
                   LATERAL (SELECT count(*) AS found, array_agg(c.lexeme) AS lexemes
                            FROM (SELECT DISTINCT s.lexeme FROM amtstresen.search_words s
                                  WHERE s.lexeme >= l.lexeme COLLATE "C" AND s.lexeme < (l.lexeme || chr(1114111)) COLLATE "C"
                                  ORDER BY s.lexeme LIMIT 65) c) AS f) AS e
        -- No office: no operand, and so no query (an operand left out
        -- would widen the search).
        HAVING pg_catalog.bool_and(e.operand IS NOT NULL) AND office IS NOT NULL;
    END;

-- The rules of version 13, asked through the words under each office the
-- role may search, one office at a time:
--   * administration, sync and purge: the offices asked for, or every
--     office that has cases;
--   * a clerk: their offices (the Kreisverwaltung's also the cases of no
--     office yet) among those asked for;
--   * a lead: as a clerk, and the cases of no office; the cases of other
--     offices with an open routing question come from the cases' partial
--     index (few) and are tested on their words.
-- One query per office and index (open or not): GIN tests each match
-- against every term of its query, and "Müll" under six offices at once
-- (twelve terms) took 16 ms for the 20,000 matches, against 0.3 ms for
-- the 1,800 of one office (two terms).
CREATE OR REPLACE FUNCTION amtstresen.search_case_months(words text[], only_offices text[], since_month integer, open_only boolean) RETURNS TABLE (case_id bigint, month integer)
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    qt text;
    q tsquery;
    o text;
    offices text[];
    lead boolean := false;
    arm text;
    arms text[] := '{}';
    extra text := '';
    top integer;
    months text := '';
BEGIN
    IF pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_sync', 'MEMBER')
       OR pg_has_role(session_user, 'amtstresen_purge', 'MEMBER') THEN
        offices := coalesce(only_offices, ARRAY(SELECT amtstresen.present_offices()));
    ELSIF pg_has_role(session_user, 'amtstresen_clerk', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_lead', 'MEMBER') THEN
        SELECT coalesce(array_agg(k.key), '{}') INTO offices FROM amtstresen.offices k WHERE pg_has_role(session_user, k.role, 'MEMBER');
        lead := pg_has_role(session_user, 'amtstresen_lead', 'MEMBER');
        IF 'kreis' = ANY (offices) OR lead THEN
            offices := offices || ''::text;
        END IF;
        IF only_offices IS NOT NULL THEN
            offices := ARRAY(SELECT unnest(offices) INTERSECT SELECT unnest(only_offices));
        END IF;
    ELSE
        RETURN;
    END IF;
    offices := ARRAY(SELECT DISTINCT k FROM unnest(offices) k ORDER BY k);
    IF since_month IS NOT NULL THEN
        -- The months from since_month to the newest of any case (a time
        -- set in the future is no reason to miss a case) as words; a
        -- longer range as a condition on the row.
        SELECT max(s.month) INTO top FROM amtstresen.case_search s;
        IF top IS NULL OR top < since_month THEN
            RETURN;
        ELSIF top - since_month < 48 THEN
            months := array_to_string(ARRAY(SELECT '''~' || m || '/#''' FROM generate_series(since_month, top) m), ' | ');
        ELSE
            extra := ' AND s.month >= $1';
        END IF;
    END IF;
    -- The words under the office "#" (no office key has it, no word has
    -- "/"), then under each office.
    qt := amtstresen.search_words_query(words, '#')::text;
    IF qt IS NOT NULL THEN
        FOREACH o IN ARRAY offices LOOP
            q := replace(qt, '/#''', '/' || o || '''')::tsquery;
            IF months <> '' THEN
                q := q && replace(months, '/#''', '/' || o || '''')::tsquery;
            END IF;
            arm := 'SELECT s.case_id, s.month FROM amtstresen.case_search s WHERE amtstresen.office_words(s.office, s.doc, s.month) @@ '
                || quote_literal(q::text) || '::tsquery' || extra;
            IF strpos(qt, ':*') > 0 THEN
                -- A word that stays a prefix matches every office: the
                -- office is tested on the row, in a form no index
                -- answers (the planner read all of VG Zell's 165,000
                -- entries of case_search_month for it: 35 ms).
                arm := arm || ' AND s.office || '''' = ' || quote_literal(o);
            END IF;
            -- Literal conditions on open: the planner matches them to the
            -- partial indexes.
            arms := arms || (arm || ' AND s.open');
            IF NOT open_only THEN
                arms := arms || (arm || ' AND NOT s.open');
            END IF;
        END LOOP;
        IF cardinality(arms) > 0 THEN
            RETURN QUERY EXECUTE array_to_string(arms, ' UNION ALL ') USING since_month;
        END IF;
    END IF;
    IF lead THEN
        q := amtstresen.search_words_query(words);
        IF q IS NULL THEN
            RETURN;
        END IF;
        extra := '';
        IF since_month IS NOT NULL THEN
            extra := ' AND s.month >= $1';
        END IF;
        IF only_offices IS NOT NULL THEN
            extra := extra || ' AND c.office = ANY ($4)';
        END IF;
        IF open_only THEN
            extra := extra || ' AND s.open';
        END IF;
        RETURN QUERY EXECUTE 'SELECT s.case_id, s.month FROM amtstresen.cases c JOIN amtstresen.case_search s ON s.case_id = c.id'
            || ' WHERE ''routing-unclear'' = ANY (c.flags) AND NOT (c.office = ANY ($3)) AND s.doc @@ $2' || extra
            USING since_month, q, offices, only_offices;
    END IF;
END
$$;

-- The matches of the newest months that hold the first n matches (all
-- matches when there are fewer), as in version 11; it asks the last 2, 6
-- and 24 months first. Version 11 read every match's row for its month:
-- "Schmi" among all of VG Zell's cases, 2,850 rows, 30-50 ms; the matches
-- of the last months come from intersecting the index of months with the
-- words' (migration 0009). Of a window it returns only the months that
-- hold the newest n matches: the caller reads each row returned ("Koch"
-- among a Zell clerk's cases: 154 matches in 24 months, 53 in the months
-- of the first 50). The 6 months are skipped when the 2 months' matches,
-- spread over 6, would not fill the page: 6.9-10.8 ms before both, 2.5-3.3
-- ms after ("Koch", "Hartm", "Müll", "Schmi" as that clerk).
CREATE OR REPLACE FUNCTION amtstresen.search_newest_case_ids(words text[], only_offices text[], n integer) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cur integer := amtstresen.case_month(now());
    back integer;
    last integer := 0;
    found integer := 0;
    ids bigint[];
    months integer[];
BEGIN
    FOREACH back IN ARRAY ARRAY[2, 6, 24] LOOP
        -- A window the last one's matches, spread over its months, do not
        -- fill is skipped (the 24 months are asked whatever the 2 gave).
        CONTINUE WHEN back = 6 AND last > 0 AND found * back < n * last;
        SELECT coalesce(array_agg(m.case_id ORDER BY m.month DESC), '{}'), coalesce(array_agg(m.month ORDER BY m.month DESC), '{}')
            INTO ids, months
            FROM amtstresen.search_case_months(words, only_offices, cur - back + 1, false) m;
        IF cardinality(ids) >= n THEN
            -- The months that hold the newest n matches, not the rest of
            -- the window: the caller reads every row returned.
            RETURN QUERY SELECT u.id FROM unnest(ids, months) AS u(id, month) WHERE u.month >= months[greatest(n, 1)];
            RETURN;
        END IF;
        last := back;
        found := cardinality(ids);
    END LOOP;
    RETURN QUERY
        WITH m AS MATERIALIZED (SELECT * FROM amtstresen.search_case_months(words, only_offices, NULL, false))
        SELECT m.case_id FROM m
        WHERE m.month >= coalesce((SELECT k.month FROM m k ORDER BY k.month DESC OFFSET greatest(n, 1) - 1 LIMIT 1), -2147483648);
END
$$;

-- A noted word is gone when no search row of any office has it: asked
-- through both indexes.
CREATE OR REPLACE FUNCTION amtstresen.prune_search_words() RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    n integer;
BEGIN
    LOCK TABLE amtstresen.search_words IN ACCESS EXCLUSIVE MODE;
    WITH gone AS (DELETE FROM amtstresen.search_words_gone RETURNING lexeme),
         g AS (SELECT DISTINCT gone.lexeme, (amtstresen.quote_lexeme(gone.lexeme || '/') || ':*')::tsquery AS q FROM gone)
    DELETE FROM amtstresen.search_words w USING g
        WHERE w.lexeme = g.lexeme
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE amtstresen.office_words(s.office, s.doc, s.month) @@ g.q AND s.open)
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE amtstresen.office_words(s.office, s.doc, s.month) @@ g.q AND NOT s.open);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

REVOKE ALL ON FUNCTION amtstresen.search_words_query(text[], text) FROM PUBLIC;
ALTER FUNCTION amtstresen.search_words_query(text[], text) OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.office_words(text, tsvector, integer) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
