-- Schema version 4: the search and the queue under row-level security.
--
-- The search operator (@@) is not leakproof, so under row-level security
-- PostgreSQL tests it only after the policies, row by row, never through
-- the GIN index: a clerk's search read every case of the office (12 to 20
-- ms on 20,000 cases, seconds on a million). search_case_ids asks the
-- index as amtstresen_lookup and returns the ids of the matching cases
-- that the session's login may see by the rules of the policies on cases;
-- the caller's query on cases applies the policies once more.
--
-- The index holds each case's office beside its words (btree_gin), so that
-- a clerk's search reads the matches of the clerk's offices only. The
-- office is copied from the case by triggers, whoever writes.

CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA amtstresen;

ALTER TABLE amtstresen.case_search ADD COLUMN office text COLLATE "C" NOT NULL DEFAULT '';
-- The rows of a database written before this version (the owner sees
-- them with FORCE switched off, inside this transaction only).
ALTER TABLE amtstresen.cases NO FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search NO FORCE ROW LEVEL SECURITY;
UPDATE amtstresen.case_search s SET office = c.office FROM amtstresen.cases c WHERE c.id = s.case_id AND s.office <> c.office;
ALTER TABLE amtstresen.cases FORCE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.case_search FORCE ROW LEVEL SECURITY;
DROP INDEX amtstresen.case_search_doc;
CREATE INDEX case_search_office_doc ON amtstresen.case_search USING gin (office, doc);

-- The office of a search row is its case's: set when the row is written
-- and when the case is forwarded.
CREATE FUNCTION amtstresen.case_search_office() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    NEW.office := coalesce((SELECT c.office FROM amtstresen.cases c WHERE c.id = NEW.case_id), '');
    RETURN NEW;
END
$$;
CREATE TRIGGER case_search_office BEFORE INSERT OR UPDATE ON amtstresen.case_search
    FOR EACH ROW EXECUTE FUNCTION amtstresen.case_search_office();

CREATE FUNCTION amtstresen.case_office_moved() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE amtstresen.case_search SET office = NEW.office WHERE case_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_search_office AFTER UPDATE OF office ON amtstresen.cases
    FOR EACH ROW WHEN (OLD.office IS DISTINCT FROM NEW.office) EXECUTE FUNCTION amtstresen.case_office_moved();

GRANT SELECT (id, flags) ON amtstresen.cases TO amtstresen_lookup;
GRANT SELECT (case_id, office, doc), UPDATE (office) ON amtstresen.case_search TO amtstresen_lookup;
GRANT SELECT ON amtstresen.offices TO amtstresen_lookup;
CREATE POLICY lookup ON amtstresen.case_search FOR SELECT TO amtstresen_lookup USING (true);
CREATE POLICY lookup_update ON amtstresen.case_search FOR UPDATE TO amtstresen_lookup USING (true) WITH CHECK (true);

-- The ids of the cases whose search words match every word (as prefixes),
-- among those the session's login may see: administrators and the service
-- accounts all; clerks and leads their offices' (the Kreisverwaltung also
-- the undecided ones); a lead also every case with an open routing
-- question. Only of the given offices (NULL: any), at most max_rows ids
-- (NULL: all).
CREATE FUNCTION amtstresen.search_case_ids(words text[], only_offices text[], max_rows integer) RETURNS SETOF bigint
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    q tsquery := amtstresen.search_query(words);
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

-- The offices that have cases, found by skipping through the index (one
-- seek per office): the queue reads one range per office and status.
-- Office keys only.
CREATE FUNCTION amtstresen.present_offices() RETURNS SETOF text
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        WITH RECURSIVE o(v) AS (
            SELECT (SELECT c.office FROM amtstresen.cases c ORDER BY c.office LIMIT 1)
            UNION ALL
            SELECT (SELECT c.office FROM amtstresen.cases c WHERE c.office > o.v ORDER BY c.office LIMIT 1) FROM o WHERE o.v IS NOT NULL
        ) SELECT v FROM o WHERE v IS NOT NULL;
    END;

REVOKE ALL ON FUNCTION amtstresen.search_case_ids(text[], text[], integer), amtstresen.present_offices(),
    amtstresen.case_search_office(), amtstresen.case_office_moved() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.search_case_ids(text[], text[], integer), amtstresen.present_offices() TO amtstresen_konto;

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;
ALTER FUNCTION amtstresen.search_case_ids(text[], text[], integer) OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.present_offices() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.case_search_office() OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.case_office_moved() OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
