-- Schema version 2: live updates. Every written case, appointment and
-- review item is announced by NOTIFY when its transaction commits, so that
-- every open window refreshes within a second. Payloads hold ids and
-- office keys only: LISTEN needs no privilege, so anyone connected to the
-- database hears them. A note, a message or an attachment changes its
-- case's updated_at and is announced with the case.

CREATE FUNCTION amtstresen.notify_case() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.office IS DISTINCT FROM NEW.office) THEN
        PERFORM pg_notify('amtstresen_case', json_build_object('id', OLD.id, 'office', OLD.office,
            'routing_open', OLD.office = '' OR 'routing-unclear' = ANY (OLD.flags))::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('amtstresen_case', json_build_object('id', NEW.id, 'office', NEW.office,
            'routing_open', NEW.office = '' OR 'routing-unclear' = ANY (NEW.flags))::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER cases_notify AFTER INSERT OR UPDATE OR DELETE ON amtstresen.cases
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_case();

CREATE FUNCTION amtstresen.notify_appointment() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.office IS DISTINCT FROM NEW.office) THEN
        PERFORM pg_notify('amtstresen_appointment', json_build_object('uid', OLD.uid, 'office', OLD.office)::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('amtstresen_appointment', json_build_object('uid', NEW.uid, 'office', NEW.office)::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER appointments_notify AFTER INSERT OR UPDATE OR DELETE ON amtstresen.appointments
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_appointment();

CREATE FUNCTION amtstresen.notify_review() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_notify('amtstresen_review', json_build_object('id', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER review_items_notify AFTER INSERT OR UPDATE OR DELETE ON amtstresen.review_items
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_review();
