-- Schema version 3: what the adapter needs besides the groundwork, so
-- that the PostgreSQL store keeps what the SQLite store keeps (SQLite
-- schema versions 7 and 8): receipts by content, the places of filed mails
-- and the purge's queue for the server, the documents shown at the
-- counter, the clerk's display name in the audit log, the reason of an
-- attendance recorded against the rules, and the database's identity.

-- A mail is its content (issue 12): what was taken in is decided by the
-- raw bytes (SHA-256), never by the Message-ID. Receipts are written in
-- the transaction of their effect. Kind 'review' does not count as taken
-- in: a mail moved back to the inbox is judged again, and when it is
-- taken in then, the receipt takes the new kind.
DROP TABLE amtstresen.processed_mails;
CREATE TABLE amtstresen.mail_receipts (
    sha256      text COLLATE "C" PRIMARY KEY,  -- hex SHA-256 of the raw mail
    kind        text NOT NULL,                 -- antrag, nachricht, ruecknahme, termin, review
    portal_case text NOT NULL DEFAULT '',      -- the signed case id of a portal delivery
    ref         text COLLATE "C" NOT NULL DEFAULT '',  -- the case it went to
    mailbox     text NOT NULL,                 -- where it was taken from
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    at          timestamptz NOT NULL
);

-- A mail on the review list that is taken in later: its open review entry
-- is resolved with a note, and the audit log says so, in the statement
-- that changes the receipt (as SQLite's trigger mail_receipts_taken).
-- SECURITY DEFINER: the entry is written as the portal's, whoever's
-- session takes the mail in (the owner's policy owner_append).
CREATE FUNCTION amtstresen.mail_receipts_taken() RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    INSERT INTO amtstresen.audit_log (at, clerk, office, action, ref, detail)
        SELECT NEW.at, 'portal', '', 'review.resolve', NEW.ref, 'review=' || r.id || ' taken'
        FROM amtstresen.review_items r WHERE r.raw_sha256 = NEW.sha256 AND NOT r.handled ORDER BY r.id;
    UPDATE amtstresen.review_items SET handled = true, handled_by = 'portal', handled_at = NEW.at,
        resolution = CASE WHEN NEW.ref <> '' THEN 'case:' || NEW.ref ELSE 'taken' END,
        note = 'Nachträglich übernommen: ein späterer Abgleich hat die Mail als echte Portalsendung erkannt und übernommen.'
        WHERE raw_sha256 = NEW.sha256 AND NOT handled;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION amtstresen.mail_receipts_taken() FROM PUBLIC;
CREATE TRIGGER mail_receipts_taken AFTER UPDATE OF kind ON amtstresen.mail_receipts
    FOR EACH ROW WHEN (OLD.kind = 'review' AND NEW.kind <> 'review')
    EXECUTE FUNCTION amtstresen.mail_receipts_taken();

-- Where each mail was filed on the server, so that the retention purge
-- removes exactly these mails there.
CREATE TABLE amtstresen.mail_locations (
    mailbox     text NOT NULL,
    uidvalidity bigint NOT NULL,
    uid         bigint NOT NULL,
    sha256      text COLLATE "C" NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
CREATE INDEX mail_locations_sha256 ON amtstresen.mail_locations (sha256);

-- What the retention purge deleted here and the sync must still delete on
-- the server: a recorded place, or (portal_case) every mail of a purged
-- case found in the folders.
CREATE TABLE amtstresen.mail_purges (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox     text NOT NULL DEFAULT '',
    uidvalidity bigint NOT NULL DEFAULT 0,
    uid         bigint NOT NULL DEFAULT 0,
    sha256      text COLLATE "C" NOT NULL DEFAULT '',
    portal_case text NOT NULL DEFAULT '',
    queued_at   timestamptz NOT NULL
);

-- An open review entry is resolved when its mail is taken in later, and a
-- message that came before its application is retried when the case
-- arrives; the purge finds receipts by case.
CREATE INDEX review_items_open_sha ON amtstresen.review_items (raw_sha256) WHERE NOT handled;
CREATE INDEX review_items_waiting ON amtstresen.review_items (portal_case) WHERE NOT handled AND reason = 'case-unknown';
CREATE INDEX review_items_portal_case ON amtstresen.review_items (portal_case) WHERE portal_case <> '';
CREATE INDEX review_items_resolution ON amtstresen.review_items (resolution) WHERE resolution <> '';
CREATE INDEX mail_receipts_portal_case ON amtstresen.mail_receipts (portal_case) WHERE portal_case <> '';

-- The flag filter of the two flags issue 12 added.
CREATE INDEX cases_flag_withdrawal_unconfirmed ON amtstresen.cases (office, status, received_at) WHERE 'withdrawal-unconfirmed' = ANY (flags);
CREATE INDEX cases_flag_date_implausible ON amtstresen.cases (office, status, received_at) WHERE 'date-implausible' = ANY (flags);
-- Portal cases are looked up by their portal id, and purged appointments
-- by the case they belong to.
CREATE INDEX appointments_portal_case ON amtstresen.appointments (portal_case) WHERE portal_case <> '';

-- The documents the citizen showed at the counter ([{"unterlage": …,
-- "kopie": …}]); NULL when none were recorded.
ALTER TABLE amtstresen.case_docs ADD COLUMN presented json;
-- The display name of the clerk who acted, next to the account.
ALTER TABLE amtstresen.audit_log ADD COLUMN clerk_name text NOT NULL DEFAULT '';
-- A lead's reason for an attendance recorded against the rules.
ALTER TABLE amtstresen.appointments ADD COLUMN attendance_note text NOT NULL DEFAULT '';

-- The database's identity, given once.
CREATE TABLE amtstresen.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO amtstresen.meta (key, value) VALUES ('database_id', replace(gen_random_uuid()::text, '-', ''));
GRANT SELECT ON amtstresen.meta TO amtstresen_konto;

-- Privileges of the new tables: the sync takes mails in and files them;
-- the purge queues the server copies of what it deleted and forgets the
-- cases in the receipts; administrators see what the sync did.
GRANT SELECT, INSERT, UPDATE ON amtstresen.mail_receipts TO amtstresen_sync;
GRANT SELECT ON amtstresen.mail_receipts TO amtstresen_admin;
GRANT SELECT, UPDATE ON amtstresen.mail_receipts TO amtstresen_purge;
GRANT SELECT, INSERT, DELETE ON amtstresen.mail_locations TO amtstresen_sync;
GRANT SELECT, DELETE ON amtstresen.mail_locations TO amtstresen_purge;
GRANT SELECT, DELETE ON amtstresen.mail_purges TO amtstresen_sync;
GRANT SELECT, INSERT ON amtstresen.mail_purges TO amtstresen_purge;
GRANT SELECT ON amtstresen.mail_purges TO amtstresen_admin;
GRANT UPDATE (attendance_note) ON amtstresen.appointments TO amtstresen_clerk, amtstresen_lead;

-- A clerk writes audit entries in their own name, for any office: taking
-- in a walk-in application for another office and forwarding a case name
-- the office the case is in (as the SQLite store does), and a lead of
-- that office reads them. The name is what the database checks.
DROP POLICY own_name ON amtstresen.audit_log;
CREATE POLICY own_name ON amtstresen.audit_log FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (clerk = session_user);
