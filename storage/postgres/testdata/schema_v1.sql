-- Schema version 1 of Amtstresen on PostgreSQL.
--
-- Migrations are append-only: a file that has been released is never
-- edited again (testdata/schema_v1.sql is a frozen copy of this one, and a
-- test compares them). A change is a new file with the next number.
--
-- Run by the migration role (owner of the database, with CREATEROLE) in
-- one transaction, after migrate.go has created the schema amtstresen and
-- its table schema_version. The migration role owns every table; no
-- login role of a clerk is an owner, a superuser or BYPASSRLS, so no
-- clerk can ALTER a table or switch its row-level security off. FORCE ROW
-- LEVEL SECURITY holds the owner to the policies too, and the owner has
-- none: a program that connects with the migration role by mistake sees
-- no citizen's data. (A later migration that must change rows of these
-- tables switches FORCE off and on again inside its transaction.)
--
-- The tables mirror the SQLite schema (storage/migrations). Times are
-- timestamptz (UTC); the zero time is NULL. Columns compared or sorted as
-- in SQLite are COLLATE "C" (byte order, as SQLite's BINARY), whatever
-- locale the database was created with.

-- Group roles. Roles belong to the cluster, not to one database: they
-- are created once and shared (one Amtstresen installation per cluster).
--   amtstresen_konto       every Amtstresen login: may connect and use the schema
--   amtstresen_clerk       Sachbearbeitung: the cases of its office
--   amtstresen_lead        Leitung: its office, its office's audit log, and
--                          every case with an open routing question
--   amtstresen_admin       Administration: everything; roles
--   amtstresen_sync        the portal sync (a service account): takes in for every office
--   amtstresen_purge       the retention purge (a service account): the only
--                          role that may delete from the audit log
--   amtstresen_kreis, amtstresen_vg_*   one per office (table offices)
-- A clerk's login role is a member of amtstresen_konto, of one kind
-- (clerk, lead, admin) and of the office's role: set_clerk_role below.
DO $$
DECLARE
    r text;
    names text[] := ARRAY['amtstresen_konto', 'amtstresen_clerk', 'amtstresen_lead', 'amtstresen_admin',
        'amtstresen_sync', 'amtstresen_purge', 'amtstresen_kreis', 'amtstresen_vg_cochem',
        'amtstresen_vg_kaisersesch', 'amtstresen_vg_ulmen', 'amtstresen_vg_zell'];
BEGIN
    FOREACH r IN ARRAY names LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database of the cluster created it just now
            END;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ANY (names)
               AND (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolreplication)) THEN
        RAISE EXCEPTION 'Eine der Gruppenrollen von Amtstresen (%) darf sich anmelden oder hat Sonderrechte. Bitte die Rolle prüfen (NOLOGIN, kein SUPERUSER, kein BYPASSRLS).',
            array_to_string(names, ', ');
    END IF;
END
$$;

REVOKE ALL ON SCHEMA amtstresen FROM PUBLIC;
GRANT USAGE ON SCHEMA amtstresen TO amtstresen_konto;
GRANT SELECT ON amtstresen.schema_version TO amtstresen_konto;

-- Only Amtstresen's roles may connect (and the owner and superusers).
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO amtstresen_konto', current_database());
END
$$;

-- The offices and the group role of each. A login's offices are the
-- offices whose role it is a member of (my_offices).
CREATE TABLE amtstresen.offices (
    key  text COLLATE "C" PRIMARY KEY,  -- app.OfficeKey
    role name NOT NULL UNIQUE
);
INSERT INTO amtstresen.offices (key, role) VALUES
    ('kreis', 'amtstresen_kreis'),
    ('vg-cochem', 'amtstresen_vg_cochem'),
    ('vg-kaisersesch', 'amtstresen_vg_kaisersesch'),
    ('vg-ulmen', 'amtstresen_vg_ulmen'),
    ('vg-zell', 'amtstresen_vg_zell');
GRANT SELECT ON amtstresen.offices TO amtstresen_konto;

-- The offices of the current role. Policies call it as
-- (SELECT amtstresen.my_offices()), once per statement.
CREATE FUNCTION amtstresen.my_offices() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    BEGIN ATOMIC
        SELECT coalesce(array_agg(o.key ORDER BY o.key), '{}')
        FROM amtstresen.offices o
        WHERE pg_catalog.pg_has_role(current_user, o.role, 'MEMBER');
    END;

-- The work queue. Hot columns only; the documents are in case_docs.
CREATE TABLE amtstresen.cases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref             text COLLATE "C" NOT NULL UNIQUE,        -- "ZEL-2026-00042"
    provisional_ref text COLLATE "C" NOT NULL DEFAULT '',    -- the receipt's reference of a case taken offline
    idempotency_key text UNIQUE,                             -- NULL: creation is not idempotent
    office          text COLLATE "C" NOT NULL DEFAULT '',    -- responsible office; '' while undecided
    channel         text NOT NULL CHECK (channel IN ('portal', 'counter')),
    service         text COLLATE "C" NOT NULL,
    portal_case     text UNIQUE,                             -- portal UUID; NULL for counter cases
    status          text COLLATE "C" NOT NULL CHECK (status IN ('received', 'in_progress', 'waiting', 'done', 'rejected', 'withdrawn')),
    assignee        text COLLATE "C" NOT NULL DEFAULT '',
    flags           text[] NOT NULL DEFAULT '{}',
    municipality    text NOT NULL DEFAULT '',                -- AGS that decided routing
    routing_reason  text NOT NULL DEFAULT '',
    forwarded_from  text NOT NULL DEFAULT '',
    applicant_name  text NOT NULL DEFAULT '',
    applicant_sort  text COLLATE "C" NOT NULL DEFAULT '',    -- "muster anna", folded
    birthdate       text NOT NULL DEFAULT '',
    email           text NOT NULL DEFAULT '',
    received_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    written_tx      xid8  -- the transaction that wrote the row last (cases_written)
);

-- The queue asks for one page of cases filtered by office and status,
-- sorted by one column (as storage/migrations/0002 and 0006).
CREATE INDEX cases_by_received ON amtstresen.cases (office, status, received_at);
CREATE INDEX cases_by_ref ON amtstresen.cases (office, status, ref);
CREATE INDEX cases_by_service ON amtstresen.cases (office, status, service, received_at);
CREATE INDEX cases_by_applicant ON amtstresen.cases (office, status, applicant_sort);
CREATE INDEX cases_by_assignee ON amtstresen.cases (assignee, office, status, received_at);
CREATE INDEX cases_flagged ON amtstresen.cases (office, status, received_at) WHERE flags <> '{}';
CREATE INDEX cases_flag_attachment_mismatch ON amtstresen.cases (office, status, received_at) WHERE 'attachment-mismatch' = ANY (flags);
CREATE INDEX cases_flag_attachment_missing ON amtstresen.cases (office, status, received_at) WHERE 'attachment-missing' = ANY (flags);
CREATE INDEX cases_flag_service_unknown ON amtstresen.cases (office, status, received_at) WHERE 'service-unknown' = ANY (flags);
CREATE INDEX cases_flag_outside_district ON amtstresen.cases (office, status, received_at) WHERE 'outside-district' = ANY (flags);
CREATE INDEX cases_flag_routing_unclear ON amtstresen.cases (office, status, received_at) WHERE 'routing-unclear' = ANY (flags);
-- The leads' view of open routing questions.
CREATE INDEX cases_routing_open ON amtstresen.cases (received_at) WHERE office = '' OR 'routing-unclear' = ANY (flags);
CREATE INDEX cases_person ON amtstresen.cases (applicant_sort, birthdate);
CREATE INDEX cases_email ON amtstresen.cases (lower(email)) WHERE email <> '';
CREATE INDEX cases_closed ON amtstresen.cases (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX cases_provisional ON amtstresen.cases (provisional_ref) WHERE provisional_ref <> '';

-- The documents of a case, kept whole (json keeps the text as received).
CREATE TABLE amtstresen.case_docs (
    case_id   bigint PRIMARY KEY REFERENCES amtstresen.cases (id) ON DELETE CASCADE,
    applicant json NOT NULL,  -- app.Applicant
    fields    json NOT NULL,  -- angaben, unknown fields included
    raw       json            -- the whole antrag.json of a portal case
);

-- File contents by SHA-256, stored once however many cases refer to them.
-- The check makes sure that content and name agree: nobody can put other
-- content under a hash that another office's attachment will refer to.
CREATE TABLE amtstresen.blobs (
    sha256 text COLLATE "C" PRIMARY KEY CHECK (sha256 = encode(sha256(data), 'hex')),
    size   bigint NOT NULL CHECK (size = octet_length(data)),
    data   bytea  NOT NULL
);
-- Documents and photos are compressed already: store them as they are.
ALTER TABLE amtstresen.blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Notes of clerks, citizens' portal messages (kind 'message'), forwards
-- and status changes.
CREATE TABLE amtstresen.notes (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES amtstresen.cases (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    author  text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('note', 'message', 'forward', 'status')),
    text    text NOT NULL,
    msg_key text UNIQUE  -- idempotency key of a portal message
);
CREATE INDEX notes_case ON amtstresen.notes (case_id, at);

-- Attachments of a case (note_id NULL) or of a citizen's message; blob
-- is set when the content was received.
CREATE TABLE amtstresen.attachments (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES amtstresen.cases (id) ON DELETE CASCADE,
    note_id bigint REFERENCES amtstresen.notes (id) ON DELETE CASCADE,
    pos     integer NOT NULL,
    name    text NOT NULL,  -- the sender's name, for display only
    type    text NOT NULL DEFAULT '',
    size    bigint NOT NULL DEFAULT 0,
    sha256  text COLLATE "C" NOT NULL DEFAULT '',
    blob    text COLLATE "C" REFERENCES amtstresen.blobs (sha256),
    problem text NOT NULL DEFAULT ''
);
CREATE INDEX attachments_case ON amtstresen.attachments (case_id, note_id, pos);
CREATE INDEX attachments_blob ON amtstresen.attachments (blob) WHERE blob IS NOT NULL;

-- Full-text search. The adapter builds a case's search text as the SQLite
-- adapter does (reference, applicant, service, places, field values and
-- the spellings without umlauts), split into words and lower-cased in Go
-- (the same rule as FTS5's unicode61 tokenizer, independent of the
-- database's locale), and stores search_vector(words). unaccent folds
-- "Zöller" to "zoller" as FTS5's remove_diacritics does; no stemming,
-- because FTS5 does not stem and a stemmed word is no prefix of what the
-- clerk types. A query word matches a word it begins (search_query).
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA amtstresen;
CREATE TEXT SEARCH CONFIGURATION amtstresen.search (COPY = pg_catalog.simple);
DO $$
DECLARE
    s name;
BEGIN
    SELECT n.nspname INTO STRICT s FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
    WHERE d.dictname = 'unaccent';
    EXECUTE format('ALTER TEXT SEARCH CONFIGURATION amtstresen.search ALTER MAPPING FOR asciiword, word, numword, '
        'asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH %I.unaccent, simple', s);
END
$$;

CREATE FUNCTION amtstresen.search_vector(words text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.to_tsvector('amtstresen.search'::regconfig, words);

-- search_query(ARRAY['anna', 'zö']) is 'anna':* & 'zo':*, every word a
-- prefix; NULL when there is no word. Words are lexemes, never query
-- syntax: quotes, &, |, ! and :* typed by the clerk are plain text.
CREATE FUNCTION amtstresen.search_query(words text[]) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    BEGIN ATOMIC
        SELECT pg_catalog.string_agg('''' || replace(replace(l.lexeme, '\', '\\'), '''', '''''') || ''':*', ' & ')::tsquery
        FROM unnest(words) AS w(word),
             unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('amtstresen.search'::regconfig, w.word))) AS l(lexeme);
    END;

CREATE TABLE amtstresen.case_search (
    case_id bigint PRIMARY KEY REFERENCES amtstresen.cases (id) ON DELETE CASCADE,
    doc     tsvector NOT NULL
);
CREATE INDEX case_search_doc ON amtstresen.case_search USING gin (doc);

-- Reference numbers: the last number handed out per prefix and year.
CREATE TABLE amtstresen.ref_counters (
    prefix text COLLATE "C" NOT NULL,
    year   integer NOT NULL,
    last   integer NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- next_ref_number returns the next number of a prefix and year. The
-- counter row stays locked until the calling transaction ends, so that
-- numbers are unique and without gaps: a transaction that rolls back gives
-- its number back, the next one waits and takes it. Call it in the
-- transaction that inserts the case, at READ COMMITTED. SECURITY DEFINER:
-- nobody else may write the counters, so that a counter only ever moves
-- on by one (a clerk walking in for another office counts on that
-- office's counter).
CREATE FUNCTION amtstresen.next_ref_number(prefix text, year integer) RETURNS integer
    LANGUAGE sql VOLATILE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        INSERT INTO amtstresen.ref_counters AS r (prefix, year, last) VALUES (prefix, year, 1)
        ON CONFLICT ON CONSTRAINT ref_counters_pkey DO UPDATE SET last = r.last + 1
        RETURNING r.last;
    END;
REVOKE ALL ON FUNCTION amtstresen.next_ref_number(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.next_ref_number(text, integer) TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync;

CREATE TABLE amtstresen.appointments (
    uid           text COLLATE "C" PRIMARY KEY,
    sequence      integer NOT NULL,
    status        text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    service       text NOT NULL DEFAULT '',
    office        text COLLATE "C" NOT NULL DEFAULT '',
    start_at      timestamptz,
    end_at        timestamptz,
    citizen_name  text NOT NULL DEFAULT '',
    citizen_email text NOT NULL DEFAULT '',
    location      text NOT NULL DEFAULT '',
    portal_case   text NOT NULL DEFAULT '',
    attendance    text NOT NULL DEFAULT '' CHECK (attendance IN ('', 'checked_in', 'no_show')),
    updated_at    timestamptz NOT NULL
);
CREATE INDEX appointments_start ON amtstresen.appointments (start_at);
CREATE INDEX appointments_office ON amtstresen.appointments (office, start_at);
CREATE INDEX appointments_end ON amtstresen.appointments (end_at);
CREATE INDEX appointments_email ON amtstresen.appointments (lower(citizen_email)) WHERE citizen_email <> '';

-- Mails kept for a person to look at; one row per Message-ID and content.
CREATE TABLE amtstresen.review_items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id  text NOT NULL,
    raw_sha256  text COLLATE "C" NOT NULL,  -- '' when raw is NULL
    subject     text NOT NULL DEFAULT '',
    sender      text NOT NULL DEFAULT '',
    reason      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    size        bigint NOT NULL DEFAULT 0,
    raw         bytea,
    portal_case text NOT NULL DEFAULT '',
    handled     boolean NOT NULL DEFAULT false,
    handled_by  text NOT NULL DEFAULT '',
    handled_at  timestamptz,
    resolution  text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    UNIQUE (message_id, raw_sha256)
);
CREATE INDEX review_items_open ON amtstresen.review_items (handled, received_at);

-- Mails taken in, written in the same transaction as their effect.
CREATE TABLE amtstresen.processed_mails (
    message_id  text PRIMARY KEY,
    mailbox     text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    kind        text NOT NULL,
    at          timestamptz NOT NULL
);

CREATE TABLE amtstresen.sync_state (
    mailbox     text PRIMARY KEY,
    uidvalidity bigint NOT NULL DEFAULT 0,
    last_uid    bigint NOT NULL DEFAULT 0,
    last_run    timestamptz,
    last_result text NOT NULL DEFAULT '',
    last_error  text NOT NULL DEFAULT ''
);

-- Who read or changed what. Codes only, never field contents. Identity
-- ids are never reused, also after a retention purge.
CREATE TABLE amtstresen.audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     timestamptz NOT NULL,
    clerk  text COLLATE "C" NOT NULL,
    office text COLLATE "C" NOT NULL DEFAULT '',
    action text COLLATE "C" NOT NULL,
    ref    text COLLATE "C" NOT NULL DEFAULT '',
    detail text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_ref ON amtstresen.audit_log (ref, id);
CREATE INDEX audit_log_clerk ON amtstresen.audit_log (clerk, id);
CREATE INDEX audit_log_office ON amtstresen.audit_log (office, id);
CREATE INDEX audit_log_at ON amtstresen.audit_log (at);

-- The audit log is append-only for every role but the purge's, the
-- owner included (an owner could drop the trigger: the migration role
-- stays with the IT and is never used by the program at work).
CREATE FUNCTION amtstresen.audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_has_role(current_user, 'amtstresen_purge', 'MEMBER') THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'Das Protokoll kann nur ergänzt werden; Einträge ändern oder löschen darf nur der Löschlauf nach Aufbewahrungsfrist (%).', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON amtstresen.audit_log
    FOR EACH ROW EXECUTE FUNCTION amtstresen.audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON amtstresen.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION amtstresen.audit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON amtstresen.audit_log FROM CURRENT_USER;

-- Who may do what, as app.RoleAssignment: the record of the memberships
-- that set_clerk_role grants (the memberships are what the database
-- enforces). Written only by set_clerk_role and remove_clerk_role.
CREATE TABLE amtstresen.roles (
    clerk      text COLLATE "C" PRIMARY KEY,  -- OS account = login role
    role       text NOT NULL CHECK (role IN ('clerk', 'lead', 'admin')),
    office     text COLLATE "C" NOT NULL DEFAULT '',
    name       text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
GRANT SELECT ON amtstresen.roles TO amtstresen_konto;

-- The last run of each maintenance job. No personal data.
CREATE TABLE amtstresen.maintenance_runs (
    job         text PRIMARY KEY,
    last_run    timestamptz,
    last_result text NOT NULL DEFAULT '',
    last_error  text NOT NULL DEFAULT ''
);

-- Privileges. What a role may do at all; the policies below say on which
-- rows. Clerks and leads change only the columns of the workflow (claim,
-- status, forward, routing; a note touches updated_at), never what a case
-- is or says; documents, notes and attachments are added, not changed.
GRANT SELECT, INSERT ON amtstresen.cases, amtstresen.case_docs, amtstresen.notes, amtstresen.attachments,
    amtstresen.case_search, amtstresen.blobs TO amtstresen_clerk, amtstresen_lead;
GRANT UPDATE (assignee, status, office, forwarded_from, flags, municipality, routing_reason, updated_at, closed_at)
    ON amtstresen.cases TO amtstresen_clerk, amtstresen_lead;
GRANT SELECT, UPDATE (attendance, updated_at) ON amtstresen.appointments TO amtstresen_clerk, amtstresen_lead;
GRANT SELECT, INSERT, UPDATE ON amtstresen.cases, amtstresen.case_docs, amtstresen.notes, amtstresen.attachments,
    amtstresen.case_search, amtstresen.appointments TO amtstresen_admin, amtstresen_sync;
GRANT SELECT, INSERT ON amtstresen.blobs TO amtstresen_admin, amtstresen_sync;
GRANT SELECT ON amtstresen.ref_counters TO amtstresen_konto;
GRANT SELECT, INSERT ON amtstresen.audit_log TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync, amtstresen_purge;
GRANT DELETE ON amtstresen.audit_log TO amtstresen_purge;
GRANT DELETE ON amtstresen.cases, amtstresen.case_docs, amtstresen.notes, amtstresen.attachments, amtstresen.case_search,
    amtstresen.appointments, amtstresen.blobs TO amtstresen_admin, amtstresen_purge;
GRANT SELECT ON amtstresen.cases, amtstresen.case_docs, amtstresen.notes, amtstresen.attachments, amtstresen.case_search,
    amtstresen.appointments, amtstresen.blobs TO amtstresen_purge;
-- The review list is shared (as in the SQLite adapter): mails nobody could
-- assign to an office yet.
GRANT SELECT, UPDATE ON amtstresen.review_items TO amtstresen_clerk, amtstresen_lead, amtstresen_admin;
GRANT SELECT, INSERT, UPDATE ON amtstresen.review_items TO amtstresen_sync;
GRANT SELECT, DELETE ON amtstresen.review_items TO amtstresen_purge;
GRANT SELECT, INSERT, UPDATE ON amtstresen.processed_mails, amtstresen.sync_state TO amtstresen_sync;
GRANT SELECT ON amtstresen.sync_state TO amtstresen_clerk, amtstresen_lead, amtstresen_admin;
GRANT SELECT ON amtstresen.processed_mails TO amtstresen_admin;
GRANT SELECT, DELETE ON amtstresen.processed_mails TO amtstresen_purge;
GRANT SELECT ON amtstresen.maintenance_runs TO amtstresen_konto;
GRANT INSERT, UPDATE ON amtstresen.maintenance_runs TO amtstresen_admin, amtstresen_purge;

-- Row-level security. Policies of one command are alternatives (OR).
-- A clerk or lead sees the cases of their offices; undecided cases
-- (office '') belong to the Kreisverwaltung until routed (app.Actor.CanSee).
-- A lead also sees every case with an open routing question. Admins, the
-- sync and the purge see all. A transaction sees the cases it wrote itself
-- (written_tx): a clerk who takes in a walk-in application for another
-- office, or forwards a case, can finish writing it (documents,
-- attachments, note; INSERT … RETURNING) in that transaction, and no
-- longer sees it once it is committed. The trigger sets written_tx on
-- every write, whatever the client sends, before the policies check the
-- new row.
CREATE FUNCTION amtstresen.mark_written() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- Runs as the writer and calls pg_catalog only: no search_path needed.
    NEW.written_tx := pg_current_xact_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER cases_written BEFORE INSERT OR UPDATE ON amtstresen.cases
    FOR EACH ROW EXECUTE FUNCTION amtstresen.mark_written();

ALTER TABLE amtstresen.cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.cases FORCE ROW LEVEL SECURITY;
CREATE POLICY office ON amtstresen.cases FOR SELECT TO amtstresen_clerk, amtstresen_lead
    USING (office = ANY ((SELECT amtstresen.my_offices())::text[]) OR (office = '' AND 'kreis' = ANY ((SELECT amtstresen.my_offices())::text[])));
CREATE POLICY routing_open ON amtstresen.cases FOR SELECT TO amtstresen_lead
    USING (office = '' OR 'routing-unclear' = ANY (flags));
CREATE POLICY own_transaction ON amtstresen.cases FOR SELECT TO amtstresen_clerk, amtstresen_lead
    USING (written_tx = pg_current_xact_id_if_assigned());
CREATE POLICY everything ON amtstresen.cases FOR SELECT TO amtstresen_admin, amtstresen_sync, amtstresen_purge
    USING (true);
CREATE POLICY counter ON amtstresen.cases FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (channel = 'counter' AND status = 'received');
CREATE POLICY intake ON amtstresen.cases FOR INSERT TO amtstresen_admin, amtstresen_sync
    WITH CHECK (true);
-- Changing a case one sees, also handing it to another office.
CREATE POLICY office_update ON amtstresen.cases FOR UPDATE TO amtstresen_clerk, amtstresen_lead
    USING (office = ANY ((SELECT amtstresen.my_offices())::text[]) OR (office = '' AND 'kreis' = ANY ((SELECT amtstresen.my_offices())::text[])))
    WITH CHECK (true);
CREATE POLICY routing_update ON amtstresen.cases FOR UPDATE TO amtstresen_lead
    USING (office = '' OR 'routing-unclear' = ANY (flags))
    WITH CHECK (true);
CREATE POLICY own_transaction_update ON amtstresen.cases FOR UPDATE TO amtstresen_clerk, amtstresen_lead
    USING (written_tx = pg_current_xact_id_if_assigned())
    WITH CHECK (true);
CREATE POLICY everything_update ON amtstresen.cases FOR UPDATE TO amtstresen_admin, amtstresen_sync
    USING (true) WITH CHECK (true);
CREATE POLICY purge ON amtstresen.cases FOR DELETE TO amtstresen_admin, amtstresen_purge
    USING (true);

-- What belongs to a case is visible and writable with the case: the
-- policy asks the cases table, whose own policies decide.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['case_docs', 'notes', 'attachments', 'case_search'] LOOP
        EXECUTE format('ALTER TABLE amtstresen.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE amtstresen.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY with_case ON amtstresen.%I '
            'TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync, amtstresen_purge '
            'USING (EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.id = case_id)) '
            'WITH CHECK (EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.id = case_id))', t);
    END LOOP;
END
$$;
-- A clerk writes notes in their own name only.
CREATE POLICY own_name ON amtstresen.notes AS RESTRICTIVE FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (author = session_user);

-- A file is visible to whoever sees an attachment that refers to it. Any
-- writer may store a file: the hash check keeps the content honest.
ALTER TABLE amtstresen.blobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.blobs FORCE ROW LEVEL SECURITY;
CREATE POLICY with_attachment ON amtstresen.blobs FOR SELECT
    TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync, amtstresen_purge
    USING (EXISTS (SELECT 1 FROM amtstresen.attachments a WHERE a.blob = blobs.sha256));
CREATE POLICY store ON amtstresen.blobs FOR INSERT
    TO amtstresen_clerk, amtstresen_lead, amtstresen_admin, amtstresen_sync
    WITH CHECK (true);
CREATE POLICY purge ON amtstresen.blobs FOR DELETE TO amtstresen_admin, amtstresen_purge
    USING (true);

ALTER TABLE amtstresen.appointments ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.appointments FORCE ROW LEVEL SECURITY;
CREATE POLICY office ON amtstresen.appointments FOR SELECT TO amtstresen_clerk, amtstresen_lead
    USING (office = ANY ((SELECT amtstresen.my_offices())::text[]) OR (office = '' AND 'kreis' = ANY ((SELECT amtstresen.my_offices())::text[])));
CREATE POLICY office_update ON amtstresen.appointments FOR UPDATE TO amtstresen_clerk, amtstresen_lead
    USING (office = ANY ((SELECT amtstresen.my_offices())::text[]) OR (office = '' AND 'kreis' = ANY ((SELECT amtstresen.my_offices())::text[])));
CREATE POLICY everything ON amtstresen.appointments TO amtstresen_admin, amtstresen_sync, amtstresen_purge
    USING (true) WITH CHECK (true);

-- The audit log: a lead reads the entries of their office's clerks,
-- everyone the history of a case they see; admins and the purge all.
-- Clerks and leads write entries in their own name and office only.
ALTER TABLE amtstresen.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE amtstresen.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY office ON amtstresen.audit_log FOR SELECT TO amtstresen_lead
    USING (office = ANY ((SELECT amtstresen.my_offices())::text[]));
CREATE POLICY case_history ON amtstresen.audit_log FOR SELECT TO amtstresen_clerk, amtstresen_lead
    USING (ref <> '' AND EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.ref = audit_log.ref));
CREATE POLICY everything ON amtstresen.audit_log FOR SELECT TO amtstresen_admin, amtstresen_purge
    USING (true);
CREATE POLICY own_name ON amtstresen.audit_log FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (clerk = session_user AND (office = '' OR office = ANY ((SELECT amtstresen.my_offices())::text[])));
CREATE POLICY append ON amtstresen.audit_log FOR INSERT TO amtstresen_admin, amtstresen_sync, amtstresen_purge
    WITH CHECK (true);
-- The owner writes the entries of set_clerk_role and remove_clerk_role.
CREATE POLICY owner_append ON amtstresen.audit_log FOR INSERT TO CURRENT_USER
    WITH CHECK (true);
CREATE POLICY purge ON amtstresen.audit_log FOR DELETE TO amtstresen_purge
    USING (true);

-- set_clerk_role creates or changes the login role of a clerk (the OS
-- account, lower case, without domain): a member of amtstresen_konto, of
-- the kind (clerk, lead, admin) and of the office's role, nothing else.
-- password_verifier is a SCRAM-SHA-256 verifier computed by the program
-- (postgres.ScramVerifier), never the password itself, so that no password
-- reaches the server's log; NULL keeps the password (or none, for
-- Kerberos or certificates). A role that exists but was not made by
-- Amtstresen, or has special rights, is refused. For administrators and
-- the migration role; audited as "role.set". SECURITY DEFINER because
-- creating roles needs CREATEROLE, which only the migration role has.
CREATE FUNCTION amtstresen.set_clerk_role(account text, kind text, office text, display_name text, password_verifier text)
    RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    member_oid oid;
    office_role name;
    prev text;
BEGIN
    IF NOT (pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR session_user = current_user) THEN
        RAISE EXCEPTION 'Rollen vergeben darf nur die Administration.' USING ERRCODE = 'insufficient_privilege';
    END IF;
    account := coalesce(account, '');
    IF account = '' OR octet_length(account) > 63 OR account ~ '[[:space:][:cntrl:]/\\"]' OR account <> lower(account)
       OR account LIKE 'pg\_%' OR account LIKE 'amtstresen\_%' THEN
        RAISE EXCEPTION 'Ungültiges Benutzerkonto „%“: bitte den Anmeldenamen am PC in Kleinbuchstaben, ohne Domäne und ohne Leerzeichen angeben.', account
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF kind IS NULL OR kind NOT IN ('clerk', 'lead', 'admin') THEN
        RAISE EXCEPTION 'Unbekannte Rolle „%“. Möglich sind: clerk (Sachbearbeitung), lead (Leitung), admin (Administration).', kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    office := coalesce(office, '');
    IF office = '' AND kind <> 'admin' THEN
        RAISE EXCEPTION 'Sachbearbeitung und Leitung brauchen eine Dienststelle.' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF office <> '' THEN
        SELECT o.role INTO office_role FROM amtstresen.offices o WHERE o.key = office;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'Unbekannte Dienststelle „%“ (kreis, vg-cochem, vg-kaisersesch, vg-ulmen, vg-zell).', office
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    IF password_verifier IS NOT NULL AND password_verifier !~ '^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$' THEN
        RAISE EXCEPTION 'Das Kennwort muss als SCRAM-SHA-256-Prüfwert übergeben werden, nie im Klartext (amtstresen roles set berechnet ihn).'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    SELECT oid, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication INTO r FROM pg_roles WHERE rolname = account;
    IF FOUND THEN
        IF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
           OR NOT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                          WHERE g.rolname = 'amtstresen_konto' AND m.member = r.oid) THEN
            RAISE EXCEPTION 'Die Datenbankrolle „%“ gibt es schon, aber nicht als Konto von Amtstresen (oder mit Sonderrechten). Bitte die IT die Rolle prüfen lassen.', account
                USING ERRCODE = 'duplicate_object';
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN INHERIT', account);
    ELSE
        EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', account);
        EXECUTE format('GRANT amtstresen_konto TO %I', account);
    END IF;
    SELECT oid INTO STRICT member_oid FROM pg_roles WHERE rolname = account;
    IF password_verifier IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', account, password_verifier);
    END IF;
    -- Exactly one kind and at most one office.
    FOR r IN SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = member_oid
               AND (g.rolname IN ('amtstresen_clerk', 'amtstresen_lead', 'amtstresen_admin', 'amtstresen_sync', 'amtstresen_purge')
                    OR g.rolname IN (SELECT o.role FROM amtstresen.offices o)) LOOP
        EXECUTE format('REVOKE %I FROM %I', r.rolname, account);
    END LOOP;
    EXECUTE format('GRANT %I TO %I', 'amtstresen_' || kind, account);
    IF office_role IS NOT NULL THEN
        EXECUTE format('GRANT %I TO %I', office_role, account);
    END IF;

    SELECT ro.role || '@' || ro.office INTO prev FROM amtstresen.roles ro WHERE ro.clerk = account;
    INSERT INTO amtstresen.roles (clerk, role, office, name, updated_at, updated_by)
    VALUES (account, kind, office, coalesce(display_name, ''), now(), session_user)
    ON CONFLICT (clerk) DO UPDATE SET role = excluded.role, office = excluded.office, name = excluded.name,
        updated_at = excluded.updated_at, updated_by = excluded.updated_by;
    INSERT INTO amtstresen.audit_log (at, clerk, office, action, ref, detail)
    VALUES (now(), session_user, coalesce((SELECT ro.office FROM amtstresen.roles ro WHERE ro.clerk = session_user), ''),
        'role.set', account, kind || '@' || office || coalesce('<-' || prev, ''));
END
$$;

-- remove_clerk_role takes the kind and the office from the login role, and
-- its login and password; an open session reads no case from its next
-- statement on. The role stays a member of amtstresen_konto (which grants
-- no data), so that set_clerk_role knows it as an Amtstresen account if
-- the clerk comes back; roles belong to the whole cluster and are not
-- dropped. The last administrator cannot be removed while other
-- assignments exist.
CREATE FUNCTION amtstresen.remove_clerk_role(account text)
    RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    was text;
BEGIN
    IF NOT (pg_has_role(session_user, 'amtstresen_admin', 'MEMBER') OR session_user = current_user) THEN
        RAISE EXCEPTION 'Rollen entziehen darf nur die Administration.' USING ERRCODE = 'insufficient_privilege';
    END IF;
    LOCK TABLE amtstresen.roles IN SHARE ROW EXCLUSIVE MODE;
    SELECT ro.role, ro.office INTO r FROM amtstresen.roles ro WHERE ro.clerk = account;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Das Benutzerkonto „%“ hat keine Rolle.', account USING ERRCODE = 'no_data_found';
    END IF;
    was := r.role || '@' || r.office;
    IF r.role = 'admin' AND (SELECT count(*) FROM amtstresen.roles WHERE role = 'admin') = 1
       AND EXISTS (SELECT 1 FROM amtstresen.roles WHERE role <> 'admin') THEN
        RAISE EXCEPTION '„%“ ist die letzte Administration. Bitte erst eine andere Person als admin eintragen.', account
            USING ERRCODE = 'check_violation';
    END IF;
    FOR r IN SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
             WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = account)
               AND (g.rolname IN ('amtstresen_clerk', 'amtstresen_lead', 'amtstresen_admin', 'amtstresen_sync', 'amtstresen_purge')
                    OR g.rolname IN (SELECT o.role FROM amtstresen.offices o)) LOOP
        EXECUTE format('REVOKE %I FROM %I', r.rolname, account);
    END LOOP;
    EXECUTE format('ALTER ROLE %I NOLOGIN PASSWORD NULL', account);
    DELETE FROM amtstresen.roles WHERE clerk = account;
    INSERT INTO amtstresen.audit_log (at, clerk, office, action, ref, detail)
    VALUES (now(), session_user, coalesce((SELECT ro.office FROM amtstresen.roles ro WHERE ro.clerk = session_user), ''),
        'role.remove', account, was);
END
$$;

REVOKE ALL ON FUNCTION amtstresen.set_clerk_role(text, text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION amtstresen.remove_clerk_role(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.set_clerk_role(text, text, text, text, text) TO amtstresen_admin;
GRANT EXECUTE ON FUNCTION amtstresen.remove_clerk_role(text) TO amtstresen_admin;
