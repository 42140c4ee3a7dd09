-- Schema version 5: messages to the citizen (issue 16) and the print queue,
-- as storage/migrations/0009 for SQLite.
--
-- outbox: one row per message, written in the transaction of the change
-- that causes it. What it says is fixed when it is queued; the sender
-- stores the signed mail in raw before its first attempt and sends exactly
-- those bytes on every retry.
CREATE TABLE amtstresen.outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    nachricht     text COLLATE "C" NOT NULL UNIQUE,
    case_id       bigint NOT NULL REFERENCES amtstresen.cases(id) ON DELETE CASCADE,
    portal_case   text NOT NULL DEFAULT '',
    office        text COLLATE "C" NOT NULL,               -- the sending office
    status        text NOT NULL CHECK (status IN ('eingegangen', 'in_bearbeitung', 'unterlagen_fehlen', 'weitergeleitet',
                      'abgeschlossen', 'abgelehnt', 'zurueckgenommen')),
    free          boolean NOT NULL DEFAULT false,
    text          text NOT NULL,
    documents     text[] NOT NULL DEFAULT '{}',
    deadline      date,
    forwarded_to  text NOT NULL DEFAULT '',
    document      text NOT NULL DEFAULT '',
    queued_at     timestamptz NOT NULL,
    queued_by     text NOT NULL,
    state         text NOT NULL CHECK (state IN ('queued', 'failed', 'undelivered', 'sent', 'servicekonto', 'email',
                      'unzustellbar', 'abgelehnt', 'letter')),
    attempts      integer NOT NULL DEFAULT 0,
    next_attempt  timestamptz,
    sent_at       timestamptz,
    failure_class text NOT NULL DEFAULT '',
    failure_code  integer NOT NULL DEFAULT 0,
    reason        text NOT NULL DEFAULT '',
    receipt_at    timestamptz,
    grund         text NOT NULL DEFAULT '',
    message_id    text NOT NULL DEFAULT '',
    raw           bytea
);
CREATE INDEX outbox_due ON amtstresen.outbox (queued_at, id) WHERE state IN ('queued', 'failed');
CREATE INDEX outbox_case ON amtstresen.outbox (case_id, id);
CREATE INDEX outbox_undelivered ON amtstresen.outbox (queued_at) WHERE state IN ('undelivered', 'unzustellbar', 'abgelehnt');

-- The quittungen applied, one per message and result: one effect each.
CREATE TABLE amtstresen.outbox_receipts (
    nachricht text COLLATE "C" NOT NULL REFERENCES amtstresen.outbox(nachricht) ON DELETE CASCADE,
    result    text NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (nachricht, result)
);

-- Letters to print and post.
CREATE TABLE amtstresen.print_jobs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    case_id    bigint NOT NULL REFERENCES amtstresen.cases(id) ON DELETE CASCADE,
    office     text COLLATE "C" NOT NULL,
    nachricht  text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT '',
    why        text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    printed_at timestamptz,
    printed_by text NOT NULL DEFAULT ''
);
CREATE INDEX print_jobs_open ON amtstresen.print_jobs (created_at, id) WHERE printed_at IS NULL;
CREATE INDEX print_jobs_case ON amtstresen.print_jobs (case_id);

CREATE INDEX cases_flag_citizen_unreachable ON amtstresen.cases (office, status, received_at) WHERE 'citizen-unreachable' = ANY (flags);
CREATE INDEX cases_flag_citizen_message_refused ON amtstresen.cases (office, status, received_at) WHERE 'citizen-message-refused' = ANY (flags);

-- Privileges. A clerk or lead queues messages and letters of the cases
-- they may change (a status change, a free message), queues an
-- undelivered one again and marks letters printed; only the sync sends
-- (raw, message_id, sent_at, the failure) and applies quittungen.
GRANT SELECT, INSERT ON amtstresen.outbox, amtstresen.print_jobs TO amtstresen_clerk, amtstresen_lead;
GRANT UPDATE (state, next_attempt) ON amtstresen.outbox TO amtstresen_clerk, amtstresen_lead;
GRANT UPDATE (printed_at, printed_by) ON amtstresen.print_jobs TO amtstresen_clerk, amtstresen_lead;
GRANT SELECT, INSERT, UPDATE ON amtstresen.outbox, amtstresen.outbox_receipts, amtstresen.print_jobs TO amtstresen_admin, amtstresen_sync;
GRANT SELECT, DELETE ON amtstresen.outbox, amtstresen.outbox_receipts, amtstresen.print_jobs TO amtstresen_purge;
GRANT DELETE ON amtstresen.outbox, amtstresen.outbox_receipts, amtstresen.print_jobs TO amtstresen_admin;

-- Row-level security: a message and a letter are visible and writable
-- with their case (the policies on cases decide: the office's clerks, the
-- transaction that wrote the case). A clerk queues in their own name only.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['outbox', 'print_jobs'] LOOP
        EXECUTE format('ALTER TABLE amtstresen.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE amtstresen.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY with_case ON amtstresen.%I '
            'TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync, amtstresen_purge '
            'USING (EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.id = case_id)) '
            'WITH CHECK (EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.id = case_id))', t);
    END LOOP;
END
$$;
CREATE POLICY own_name ON amtstresen.outbox AS RESTRICTIVE FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (queued_by = session_user);
ALTER TABLE amtstresen.outbox_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.outbox_receipts FORCE ROW LEVEL SECURITY;
CREATE POLICY everything ON amtstresen.outbox_receipts TO amtstresen_admin, amtstresen_sync, amtstresen_purge
    USING (true) WITH CHECK (true);

-- Live updates: a message queued or changing state is announced with its
-- case and office (ids and keys only, as in migration 2), so that open
-- windows refresh the case history and the sender wakes up at once.
CREATE FUNCTION amtstresen.notify_outbox() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'INSERT' OR OLD.state IS DISTINCT FROM NEW.state THEN
        PERFORM pg_notify('amtstresen_outbox', json_build_object('case', NEW.case_id, 'office', NEW.office,
            'state', NEW.state)::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE ON amtstresen.outbox
    FOR EACH ROW EXECUTE FUNCTION amtstresen.notify_outbox();
