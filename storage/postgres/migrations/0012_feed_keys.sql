-- Schema version 12: a case's announcement says where the case stood in
-- the queue before and after the change (office, status, routing
-- question; keys only, no personal data, as before). A window patches its
-- page with the announced cases and counts again only when a case entered
-- or left its filter (app.PlanPageUpdate): fifty counters re-reading and
-- counting their pages four times a second kept the server busy.
--
-- The announcements of one transaction are no longer all alike (a status
-- change and the note that goes with it differ in "before"); the feed
-- merges them per case (storage/postgres dedupe).
CREATE OR REPLACE FUNCTION amtstresen.notify_case() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    was json;
    now json;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        was := json_build_object('office', OLD.office, 'status', OLD.status,
            'routing_open', OLD.office = '' OR 'routing-unclear' = ANY (OLD.flags));
    END IF;
    IF TG_OP <> 'DELETE' THEN
        now := json_build_object('office', NEW.office, 'status', NEW.status,
            'routing_open', NEW.office = '' OR 'routing-unclear' = ANY (NEW.flags));
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.office IS DISTINCT FROM NEW.office) THEN
        PERFORM pg_notify('amtstresen_case', json_build_object('id', OLD.id, 'office', OLD.office,
            'routing_open', OLD.office = '' OR 'routing-unclear' = ANY (OLD.flags), 'before', was, 'after', now)::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('amtstresen_case', json_build_object('id', NEW.id, 'office', NEW.office,
            'routing_open', NEW.office = '' OR 'routing-unclear' = ANY (NEW.flags), 'before', was, 'after', now)::text);
    END IF;
    RETURN NULL;
END
$$;
