-- Schema version 3: INSERT OR REPLACE must not overwrite an audit entry.
-- A REPLACE deletes the old row without firing DELETE triggers (unless
-- recursive_triggers is on), so audit_log_no_delete alone does not stop it.
-- In a BEFORE INSERT trigger NEW.id is -1 when the id is assigned
-- automatically, which never matches.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
