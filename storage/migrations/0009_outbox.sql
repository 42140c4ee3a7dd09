-- Schema version 9: messages to the citizen (issue 16) and the print queue.
--
-- outbox: one row per message, written in the transaction of the change
-- that causes it. What it says (text, documents, deadline, receiving
-- office, PDF) is fixed when it is queued; the sender stores the signed
-- mail in raw before its first attempt and sends exactly those bytes on
-- every retry. state: queued, failed, undelivered, sent, servicekonto,
-- email, unzustellbar, abgelehnt, letter (walk-in case: on paper only).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    nachricht     TEXT    NOT NULL UNIQUE,
    case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    portal_case   TEXT    NOT NULL DEFAULT '',
    office        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    free          INTEGER NOT NULL DEFAULT 0,
    text          TEXT    NOT NULL,
    documents     TEXT    NOT NULL DEFAULT '',  -- JSON list, '' for none
    deadline      TEXT    NOT NULL DEFAULT '',  -- YYYY-MM-DD
    forwarded_to  TEXT    NOT NULL DEFAULT '',
    document      TEXT    NOT NULL DEFAULT '',
    queued_at     TEXT    NOT NULL,
    queued_by     TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT    NOT NULL DEFAULT '',
    sent_at       TEXT    NOT NULL DEFAULT '',
    failure_class TEXT    NOT NULL DEFAULT '',
    failure_code  INTEGER NOT NULL DEFAULT 0,
    reason        TEXT    NOT NULL DEFAULT '',
    receipt_at    TEXT    NOT NULL DEFAULT '',
    grund         TEXT    NOT NULL DEFAULT '',
    message_id    TEXT    NOT NULL DEFAULT '',
    raw           BLOB
);
CREATE INDEX outbox_due ON outbox (queued_at, id) WHERE state IN ('queued', 'failed');
CREATE INDEX outbox_case ON outbox (case_id, id);
CREATE INDEX outbox_undelivered ON outbox (queued_at) WHERE state IN ('undelivered', 'unzustellbar', 'abgelehnt');

-- The quittungen applied, one per message and result: the same quittung
-- arriving twice has one effect.
CREATE TABLE outbox_receipts (
    nachricht TEXT NOT NULL REFERENCES outbox(nachricht) ON DELETE CASCADE,
    result    TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (nachricht, result)
);

-- print_jobs: letters to print and post (a walk-in case's answer, a
-- portal message the portal could not deliver).
CREATE TABLE print_jobs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    office     TEXT    NOT NULL,
    nachricht  TEXT    NOT NULL DEFAULT '',
    status     TEXT    NOT NULL DEFAULT '',
    why        TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL,
    printed_at TEXT    NOT NULL DEFAULT '',
    printed_by TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX print_jobs_open ON print_jobs (created_at, id) WHERE printed_at = '';
CREATE INDEX print_jobs_case ON print_jobs (case_id);

-- The flags of the return channel get their partial index like the others
-- (storage/queue.go names a known flag's index).
CREATE INDEX cases_flag_citizen_unreachable ON cases (office, status, received_at) WHERE instr(flags, ',citizen-unreachable,') > 0;
CREATE INDEX cases_flag_citizen_message_refused ON cases (office, status, received_at) WHERE instr(flags, ',citizen-message-refused,') > 0;
