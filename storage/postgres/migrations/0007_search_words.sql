-- Schema version 7: word beginnings searched through the words that exist.
--
-- A prefix in a tsquery ('anna':*) makes the GIN index collect every
-- posting of every word with that beginning into a bitmap before it can
-- intersect anything: "Anna Schmi" took 20 to 130 ms on a million cases,
-- although only five words begin so ("anna", "schmidt", "schmitt", ...).
-- The same query with those words written out ('anna' & ('schmidt' |
-- 'schmitt' | ...)) lets the index read the postings of the rarer side
-- and skip through the others: a tenth of the time.
--
-- search_words holds every word (lexeme) of the cases' search texts, kept
-- by triggers on case_search, whoever writes. It holds no case or office,
-- and only the functions of amtstresen_lookup read it: a clerk
-- never sees which words exist in other offices. Words of deleted search
-- texts (the purge) are noted in search_words_gone and removed by
-- prune_search_words once no search text has them any more.

-- The migration acts as amtstresen_lookup, the owner of the search
-- functions, until the end.
GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

CREATE TABLE amtstresen.search_words (
    lexeme text COLLATE "C" NOT NULL
);
-- Not unique: two writers adding the same new word at once both add it
-- (neither waits for the other); the readers take DISTINCT.
CREATE INDEX search_words_lexeme ON amtstresen.search_words (lexeme);

CREATE TABLE amtstresen.search_words_gone (
    lexeme text COLLATE "C" NOT NULL
);

-- The words of the search texts written before this version.
ALTER TABLE amtstresen.case_search NO FORCE ROW LEVEL SECURITY;
INSERT INTO amtstresen.search_words (lexeme)
    SELECT DISTINCT l.lexeme FROM amtstresen.case_search s, unnest(tsvector_to_array(s.doc)) AS l(lexeme);
ALTER TABLE amtstresen.case_search FORCE ROW LEVEL SECURITY;

-- A word as a tsquery operand, quoted (no query syntax).
CREATE FUNCTION amtstresen.quote_lexeme(lexeme text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || '''';

-- Adds the words of new or changed search texts that are not there yet.
-- Whoever finds a word present holds ACCESS SHARE on search_words until
-- the end of the transaction; prune_search_words waits for that.
CREATE FUNCTION amtstresen.search_words_add() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO amtstresen.search_words (lexeme)
        SELECT DISTINCT l.lexeme FROM new_rows n, unnest(tsvector_to_array(n.doc)) AS l(lexeme)
        WHERE NOT EXISTS (SELECT 1 FROM amtstresen.search_words w WHERE w.lexeme = l.lexeme);
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO amtstresen.search_words_gone (lexeme)
            SELECT DISTINCT l.lexeme FROM old_rows o, unnest(tsvector_to_array(o.doc)) AS l(lexeme)
            EXCEPT SELECT l.lexeme FROM new_rows n, unnest(tsvector_to_array(n.doc)) AS l(lexeme);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION amtstresen.search_words_deleted() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO amtstresen.search_words_gone (lexeme)
        SELECT DISTINCT l.lexeme FROM old_rows o, unnest(tsvector_to_array(o.doc)) AS l(lexeme);
    RETURN NULL;
END
$$;

CREATE TRIGGER case_search_words_insert AFTER INSERT ON amtstresen.case_search
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.search_words_add();
CREATE TRIGGER case_search_words_update AFTER UPDATE ON amtstresen.case_search
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.search_words_add();
CREATE TRIGGER case_search_words_delete AFTER DELETE ON amtstresen.case_search
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.search_words_deleted();

-- Removes the noted words that no search text has any more (after a
-- purge, in a transaction of its own); returns how many. The exclusive
-- lock waits for every writer that found such a word present and so did
-- not add it again: once they have committed, the check below sees
-- their search texts. Searches wait for the lock meanwhile (milliseconds).
CREATE FUNCTION amtstresen.prune_search_words() RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    n integer;
BEGIN
    LOCK TABLE amtstresen.search_words IN ACCESS EXCLUSIVE MODE;
    WITH gone AS (DELETE FROM amtstresen.search_words_gone RETURNING lexeme)
    DELETE FROM amtstresen.search_words w USING (SELECT DISTINCT lexeme FROM gone) g
        WHERE w.lexeme = g.lexeme
          AND NOT EXISTS (SELECT 1 FROM amtstresen.case_search s WHERE s.doc @@ amtstresen.quote_lexeme(g.lexeme)::tsquery);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- search_words_query(ARRAY['anna', 'schmi']) is 'anna' & ('schmid' |
-- 'schmidt' | 'schmitt' | 'schmitz'): the search_query of the words with
-- each prefix written out as the words that begin so. A beginning of more
-- than 64 words, or of none, stays a prefix ('m':*): the queue walks such
-- searches in display order instead (storage/postgres/queue.go), and a
-- prefix of no word finds nothing at once. NULL when there is no word.
CREATE FUNCTION amtstresen.search_words_query(words text[]) RETURNS tsquery
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT pg_catalog.string_agg(e.operand, ' & ' ORDER BY e.n)::tsquery
        FROM (SELECT l.n,
                     CASE WHEN x.found BETWEEN 1 AND 64 THEN '(' || x.alternatives || ')'
                          ELSE amtstresen.quote_lexeme(l.lexeme) || ':*' END AS operand
              FROM unnest(words) WITH ORDINALITY AS w(word, wn),
                   LATERAL unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('amtstresen.search'::regconfig, w.word)))
                       WITH ORDINALITY AS l0(lexeme, ln),
                   LATERAL (SELECT l0.lexeme, w.wn * 1000 + l0.ln AS n) AS l,
                   LATERAL (SELECT count(*) AS found, string_agg(amtstresen.quote_lexeme(c.lexeme), ' | ') AS alternatives
                            FROM (SELECT DISTINCT s.lexeme FROM amtstresen.search_words s
                                  WHERE s.lexeme >= l.lexeme COLLATE "C" AND s.lexeme < (l.lexeme || chr(1114111)) COLLATE "C"
                                  ORDER BY s.lexeme LIMIT 65) c) AS x) AS e;
    END;

-- As in version 4, with the beginnings written out.
CREATE OR REPLACE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q tsquery := amtstresen.search_words_query(words);
    mine text[];
BEGIN
    IF q IS NULL THEN
        RETURN;
    END IF;
    IF pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR pg_has_role(session_user, 'amtstresen_sync', 'MEMBER')
       OR pg_has_role(session_user, 'amtstresen_purge', 'MEMBER') THEN
        IF only_offices IS NULL THEN
            RETURN QUERY SELECT s.case_id FROM amtstresen.case_search s WHERE s.doc @@ q LIMIT max_rows;
        ELSE
            RETURN QUERY SELECT s.case_id FROM amtstresen.case_search s WHERE s.office = ANY (only_offices) AND s.doc @@ q LIMIT max_rows;
        END IF;
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
        RETURN QUERY SELECT s.case_id FROM amtstresen.case_search s JOIN amtstresen.cases c ON c.id = s.case_id
            WHERE s.doc @@ q AND (only_offices IS NULL OR s.office = ANY (only_offices))
              AND (s.office = ANY (mine) OR c.office = '' OR 'routing-unclear' = ANY (c.flags)) LIMIT max_rows;
    ELSE
        IF only_offices IS NOT NULL THEN
            mine := ARRAY(SELECT unnest(mine) INTERSECT SELECT unnest(only_offices));
        END IF;
        RETURN QUERY SELECT s.case_id FROM amtstresen.case_search s WHERE s.office = ANY (mine) AND s.doc @@ q LIMIT max_rows;
    END IF;
END
$$;

-- Only amtstresen_lookup (the search functions and triggers) reads and
-- writes the word lists; forced row-level security as on every table
-- with personal data. LOCK (prune_search_words) needs DELETE.
ALTER TABLE amtstresen.search_words ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.search_words FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.search_words_gone ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.search_words_gone FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON amtstresen.search_words, amtstresen.search_words_gone TO amtstresen_lookup;
CREATE POLICY lookup ON amtstresen.search_words TO amtstresen_lookup USING (true) WITH CHECK (true);
CREATE POLICY lookup ON amtstresen.search_words_gone TO amtstresen_lookup USING (true) WITH CHECK (true);

REVOKE ALL ON FUNCTION amtstresen.search_words_add(), amtstresen.search_words_deleted(), amtstresen.prune_search_words(),
    amtstresen.search_words_query(text[]) FROM PUBLIC;
-- The purge (and the administration's purge run) prunes; nobody else
-- calls these: search_words_query would tell which words exist.
GRANT EXECUTE ON FUNCTION amtstresen.prune_search_words() TO amtstresen_purge, amtstresen_admin;

ALTER FUNCTION amtstresen.search_words_add() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_words_deleted() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.prune_search_words() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_words_query(text[]) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
