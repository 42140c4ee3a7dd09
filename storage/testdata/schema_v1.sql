-- Schema version 1 of Amtstresen.
--
-- Migrations are append-only: a file that has been released is never
-- edited again (testdata/schema_v1.sql is a frozen copy of this one, and a
-- test compares them). A change is a new file with the next number.
-- Times are TEXT in UTC, fixed width with nanoseconds
-- ("2026-11-27T17:04:11.000000000Z"), so that they sort as strings; the
-- zero time is ''.

PRAGMA application_id = 1095586899; -- "AMTS"

-- The work queue. Hot columns only; the documents are in case_docs so that
-- queue scans stay small.
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    ref             TEXT    NOT NULL UNIQUE,      -- "ZEL-2026-00042"
    idempotency_key TEXT    UNIQUE,               -- NULL: creation is not idempotent
    office          TEXT    NOT NULL DEFAULT '',  -- responsible office; '' while undecided
    channel         TEXT    NOT NULL,             -- portal, counter
    service         TEXT    NOT NULL,
    portal_case     TEXT    UNIQUE,               -- portal UUID; NULL for counter cases
    status          TEXT    NOT NULL CHECK (status IN ('received', 'in_progress', 'waiting', 'done', 'rejected', 'withdrawn')),
    assignee        TEXT    NOT NULL DEFAULT '',
    flags           TEXT    NOT NULL DEFAULT '',  -- ',flag-a,flag-b,' or ''
    municipality    TEXT    NOT NULL DEFAULT '',  -- AGS that decided routing
    routing_reason  TEXT    NOT NULL DEFAULT '',
    forwarded_from  TEXT    NOT NULL DEFAULT '',
    -- Denormalised from the applicant for the queue, sorting and the
    -- Art. 15 DSGVO export (which cases concern this person).
    applicant_name  TEXT    NOT NULL DEFAULT '',  -- "Anna Muster"
    applicant_sort  TEXT    NOT NULL DEFAULT '',  -- "muster anna", folded
    birthdate       TEXT    NOT NULL DEFAULT '',
    email           TEXT    NOT NULL DEFAULT '',
    received_at     TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    closed_at       TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX cases_queue ON cases (office, status, received_at);
CREATE INDEX cases_person ON cases (applicant_sort, birthdate);

-- The documents of a case, kept whole.
CREATE TABLE case_docs (
    case_id   INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    applicant TEXT NOT NULL,  -- app.Applicant as JSON
    fields    TEXT NOT NULL,  -- angaben, unknown fields included
    raw       TEXT            -- the whole antrag.json of a portal case
);

-- File contents by SHA-256. Never by the sender's file name.
CREATE TABLE blobs (
    sha256 TEXT    PRIMARY KEY,
    size   INTEGER NOT NULL,
    data   BLOB    NOT NULL
);

CREATE TABLE notes (
    id      INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at      TEXT    NOT NULL,
    author  TEXT    NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('note', 'message', 'forward', 'status')),
    text    TEXT    NOT NULL,
    msg_key TEXT    UNIQUE  -- idempotency key of a portal message
);

CREATE INDEX notes_case ON notes (case_id, at);

-- Attachments of a case (note_id NULL) or of a citizen's message.
-- blob is set when the content was received.
CREATE TABLE attachments (
    id       INTEGER PRIMARY KEY,
    case_id  INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    note_id  INTEGER REFERENCES notes (id) ON DELETE CASCADE,
    pos      INTEGER NOT NULL,
    name     TEXT    NOT NULL,  -- the sender's name, for display only
    type     TEXT    NOT NULL DEFAULT '',
    size     INTEGER NOT NULL DEFAULT 0,
    sha256   TEXT    NOT NULL DEFAULT '',
    blob     TEXT    REFERENCES blobs (sha256),
    problem  TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX attachments_case ON attachments (case_id, note_id, pos);
CREATE INDEX attachments_blob ON attachments (blob) WHERE blob IS NOT NULL;

-- Reference numbers: the last sequence handed out per prefix and year.
CREATE TABLE ref_counters (
    prefix TEXT    NOT NULL,
    year   INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
) WITHOUT ROWID;

CREATE TABLE appointments (
    uid           TEXT    PRIMARY KEY,
    sequence      INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    service       TEXT    NOT NULL DEFAULT '',
    office        TEXT    NOT NULL DEFAULT '',
    start_at      TEXT    NOT NULL DEFAULT '',
    end_at        TEXT    NOT NULL DEFAULT '',
    citizen_name  TEXT    NOT NULL DEFAULT '',
    citizen_email TEXT    NOT NULL DEFAULT '',
    location      TEXT    NOT NULL DEFAULT '',
    portal_case   TEXT    NOT NULL DEFAULT '',
    attendance    TEXT    NOT NULL DEFAULT '',
    updated_at    TEXT    NOT NULL
);

CREATE INDEX appointments_start ON appointments (start_at);
CREATE INDEX appointments_office ON appointments (office, start_at);

-- Mails kept for a person to look at; one row per Message-ID and content.
CREATE TABLE review_items (
    id          INTEGER PRIMARY KEY,
    message_id  TEXT    NOT NULL,
    raw_sha256  TEXT    NOT NULL,  -- '' when raw is NULL
    subject     TEXT    NOT NULL DEFAULT '',
    sender      TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT '',
    received_at TEXT    NOT NULL,
    size        INTEGER NOT NULL DEFAULT 0,
    raw         BLOB,
    portal_case TEXT    NOT NULL DEFAULT '',
    handled     INTEGER NOT NULL DEFAULT 0,
    handled_by  TEXT    NOT NULL DEFAULT '',
    handled_at  TEXT    NOT NULL DEFAULT '',
    resolution  TEXT    NOT NULL DEFAULT '',
    note        TEXT    NOT NULL DEFAULT '',
    UNIQUE (message_id, raw_sha256)
);

CREATE INDEX review_items_open ON review_items (handled, received_at);

-- Mails taken in, written in the same transaction as their effect.
CREATE TABLE processed_mails (
    message_id  TEXT    PRIMARY KEY,
    mailbox     TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    at          TEXT    NOT NULL
);

CREATE TABLE sync_state (
    mailbox     TEXT    PRIMARY KEY,
    uidvalidity INTEGER NOT NULL DEFAULT 0,
    last_uid    INTEGER NOT NULL DEFAULT 0,
    last_run    TEXT    NOT NULL DEFAULT '',
    last_result TEXT    NOT NULL DEFAULT '',
    last_error  TEXT    NOT NULL DEFAULT ''
);

-- Who read or changed what. Codes only, never field contents.
-- AUTOINCREMENT: ids are never reused, also after a retention purge.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT    NOT NULL,
    clerk  TEXT    NOT NULL,
    office TEXT    NOT NULL DEFAULT '',
    action TEXT    NOT NULL,
    ref    TEXT    NOT NULL DEFAULT '',
    detail TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_ref ON audit_log (ref, id);
CREATE INDEX audit_log_clerk ON audit_log (clerk, id);
CREATE INDEX audit_log_at ON audit_log (at);

-- The audit log is append-only. The retention purge (a later migration or
-- maintenance command) must, inside ONE transaction: DROP TRIGGER
-- audit_log_no_delete, DELETE the expired rows, and CREATE the trigger again
-- exactly as below, so that no other connection ever sees the log
-- unprotected.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- Full-text search over the queue: reference, applicant, service,
-- places and the values of the fields. Contentless (the text lives in
-- cases and case_docs); rowid = cases.id. Rows are written by the
-- application in the same transaction as the case. remove_diacritics
-- lets "zoller" find "Zöller"; the alt column holds spellings such as
-- "zoeller" and "strasse". Prefix indexes keep search-as-you-type fast.
CREATE VIRTUAL TABLE cases_fts USING fts5 (
    ref, applicant, service, place, fields, alt,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
