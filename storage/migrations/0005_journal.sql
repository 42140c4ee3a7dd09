-- Schema version 5: the shared journal of several counters (sync/journal.go,
-- storage/journal.go). The queue of a counter is a view of the journal
-- folder applied in UID order, plus its own outbox of changes not yet in
-- the journal.

-- A walk-in case taken while the journal is out of reach gets a provisional
-- reference first (ref = provisional_ref); when its entry is applied in
-- journal order it gets the next number, and the provisional one stays as
-- an alias so that the receipt printed with it still finds the case.
ALTER TABLE cases ADD COLUMN provisional_ref TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_provisional ON cases (provisional_ref) WHERE provisional_ref <> '';

-- The journal entry that wrote a note (NULL outside the journal).
ALTER TABLE notes ADD COLUMN entry TEXT;
CREATE INDEX notes_entry ON notes (entry) WHERE entry IS NOT NULL;

-- Changes of this counter not yet seen in the journal, in the order made.
CREATE TABLE journal_outbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT    NOT NULL UNIQUE,  -- entry UUID
    entry     TEXT    NOT NULL,         -- app.JournalEntry as JSON
    queued_at TEXT    NOT NULL
);

-- Every entry read from the journal, applied or rejected, by its id: an
-- entry appended twice (a retry after a lost answer) counts once.
CREATE TABLE journal_entries (
    id       TEXT    PRIMARY KEY,
    uid      INTEGER NOT NULL,  -- position in the journal folder
    op       TEXT    NOT NULL,
    case_key TEXT    NOT NULL DEFAULT '',
    counter  TEXT    NOT NULL DEFAULT '',
    clerk    TEXT    NOT NULL DEFAULT '',
    at       TEXT    NOT NULL,
    state    TEXT    NOT NULL CHECK (state IN ('applied', 'rejected')),
    code     TEXT    NOT NULL DEFAULT '',
    message  TEXT    NOT NULL DEFAULT '',  -- German: why it was rejected
    ref      TEXT    NOT NULL DEFAULT '',
    seen     INTEGER NOT NULL DEFAULT 0   -- the rejection was shown to the clerk
) WITHOUT ROWID;

CREATE INDEX journal_entries_rejected ON journal_entries (counter, seen) WHERE state = 'rejected';

-- The state of a case (or review item) before the outbox's pending
-- changes touched it, so that they can be taken out again when the
-- journal brings entries that come first.
CREATE TABLE journal_pending_cases (
    case_id        INTEGER PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    assignee       TEXT NOT NULL,
    office         TEXT NOT NULL,
    forwarded_from TEXT NOT NULL,
    closed_at      TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE journal_pending_reviews (
    review_id  INTEGER PRIMARY KEY REFERENCES review_items (id) ON DELETE CASCADE,
    handled    INTEGER NOT NULL,
    handled_by TEXT    NOT NULL,
    handled_at TEXT    NOT NULL,
    resolution TEXT    NOT NULL,
    note       TEXT    NOT NULL
);
