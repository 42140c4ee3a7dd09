-- Schema version 14: a block of cases without a trigger call per row
-- (issue 15).
--
-- The sync writes a run of applications as one statement per table; each
-- of its rows still called PL/pgSQL: mark_written and notify_case per
-- case, case_search_office per search row (a lookup of the case), and
-- notify_outbox per message. Now:
--   * cases.written_tx defaults to the writing transaction; mark_written
--     runs on an insert only when a writer sent another value, and on
--     every update as before: the policies still see the true writer.
--   * A new case, and a new message of the outbox, is announced by one
--     trigger call per statement, with the same payload per row as before.
--   * A search row written with its case's office and month (the sync
--     knows them) is not looked up row by row; one written without them
--     (office '' and month 0, the defaults) gets them from the case as
--     before. After each statement every new search row is held to its
--     case: a row of another office or month fails the statement, so no
--     writer can file a search text under an office it chose.

GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;

ALTER TABLE amtstresen.cases ALTER COLUMN written_tx SET DEFAULT pg_catalog.pg_current_xact_id();
DROP TRIGGER cases_written ON amtstresen.cases;
CREATE TRIGGER cases_written BEFORE UPDATE ON amtstresen.cases
    FOR EACH ROW EXECUTE FUNCTION amtstresen.mark_written();
CREATE TRIGGER cases_written_insert BEFORE INSERT ON amtstresen.cases
    FOR EACH ROW WHEN (NEW.written_tx IS DISTINCT FROM pg_catalog.pg_current_xact_id())
    EXECUTE FUNCTION amtstresen.mark_written();

CREATE FUNCTION amtstresen.notify_cases_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- As notify_case of version 12 says a new case.
    PERFORM pg_notify('amtstresen_case', json_build_object('id', n.id, 'office', n.office,
        'routing_open', n.office = '' OR 'routing-unclear' = ANY (n.flags), 'before', NULL::json,
        'after', json_build_object('office', n.office, 'status', n.status,
            'routing_open', n.office = '' OR 'routing-unclear' = ANY (n.flags)))::text)
        FROM new_rows n ORDER BY n.id;
    RETURN NULL;
END
$$;
DROP TRIGGER cases_notify ON amtstresen.cases;
CREATE TRIGGER cases_notify AFTER UPDATE OR DELETE ON amtstresen.cases
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_case();
CREATE TRIGGER cases_notify_insert AFTER INSERT ON amtstresen.cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.notify_cases_inserted();

CREATE FUNCTION amtstresen.notify_outbox_inserted() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('amtstresen_outbox', json_build_object('case', n.case_id, 'office', n.office,
        'state', n.state)::text)
        FROM new_rows n ORDER BY n.id;
    RETURN NULL;
END
$$;
DROP TRIGGER outbox_notify ON amtstresen.outbox;
CREATE TRIGGER outbox_notify AFTER UPDATE ON amtstresen.outbox
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_outbox();
CREATE TRIGGER outbox_notify_insert AFTER INSERT ON amtstresen.outbox
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.notify_outbox_inserted();

-- Fails the statement when a new search row's office or month is not its
-- case's (23514, as a check constraint).
CREATE FUNCTION amtstresen.case_search_checked() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    -- A subquery per row (one look into the primary key), not a join: the
    -- planner would read the whole table for a block of a hundred rows.
    -- A row without its case fails on the foreign key before this.
    IF EXISTS (SELECT 1 FROM new_rows n
               WHERE (SELECT c.office = n.office AND amtstresen.case_month(c.received_at) = n.month
                      FROM amtstresen.cases c WHERE c.id = n.case_id) IS NOT TRUE) THEN
        RAISE EXCEPTION 'search row with another office or month than its case' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER case_search_office ON amtstresen.case_search;
CREATE TRIGGER case_search_office BEFORE UPDATE ON amtstresen.case_search
    FOR EACH ROW EXECUTE FUNCTION amtstresen.case_search_office();
CREATE TRIGGER case_search_office_insert BEFORE INSERT ON amtstresen.case_search
    FOR EACH ROW WHEN (NEW.office = '' AND NEW.month = 0) EXECUTE FUNCTION amtstresen.case_search_office();
CREATE TRIGGER case_search_checked AFTER INSERT ON amtstresen.case_search
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.case_search_checked();

REVOKE ALL ON FUNCTION amtstresen.case_search_checked() FROM PUBLIC;
ALTER FUNCTION amtstresen.case_search_checked() OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
