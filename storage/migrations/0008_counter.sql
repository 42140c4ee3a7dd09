-- Schema version 8: what the counter records beyond the application.
--
-- meta: the database's identity, a random id given once when the schema is
-- created or upgraded. Backups carry it, so that restore can refuse a
-- backup of another database (backups of several databases may share a
-- folder).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('database_id', lower(hex(randomblob(16))));

-- The documents the citizen showed at the counter (JSON list of
-- {"unterlage": "...", "kopie": true|false}); '' when none were recorded.
ALTER TABLE case_docs ADD COLUMN presented TEXT NOT NULL DEFAULT '';

-- The display name of the clerk who acted ("Maria Müller"), next to the
-- account; '' where none was known (the sync, older entries).
ALTER TABLE audit_log ADD COLUMN clerk_name TEXT NOT NULL DEFAULT '';

-- A lead's reason for an attendance recorded against the rules (check-in
-- on another day than the appointment's, "did not come" before its start).
ALTER TABLE appointments ADD COLUMN attendance_note TEXT NOT NULL DEFAULT '';
