-- Schema version 7: a mail is its content (issue 12).
--
-- What a mail is and whether it was taken in is decided by its raw bytes
-- (SHA-256), never by its Message-ID, which the sender chooses and which
-- two different mails can share.

-- Mails taken in (or put on the review list), written in the same
-- transaction as their effect. A receipt of kind 'review' does not count
-- as taken in: a mail moved back to the inbox is judged again, and when
-- it is taken in then, the receipt takes the new kind.
-- No index but the key: the sync writes one receipt per mail, and only
-- the nightly purge looks receipts up by case (one scan per hundred
-- purged cases).
CREATE TABLE mail_receipts (
    sha256      TEXT    PRIMARY KEY,              -- hex SHA-256 of the raw mail
    kind        TEXT    NOT NULL,                 -- antrag, nachricht, ruecknahme, termin, review
    portal_case TEXT    NOT NULL DEFAULT '',      -- the signed case id of a portal delivery
    ref         TEXT    NOT NULL DEFAULT '',      -- the case it went to
    mailbox     TEXT    NOT NULL,                 -- where it was taken from
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    at          TEXT    NOT NULL
) WITHOUT ROWID;

-- The receipts by Message-ID are replaced by mail_receipts. The mails
-- on the review list get their receipts (they were judged, not taken in).
DROP TABLE processed_mails;
INSERT INTO mail_receipts (sha256, kind, mailbox, uidvalidity, uid, at)
    SELECT raw_sha256, 'review', '', 0, 0, received_at FROM review_items WHERE raw_sha256 <> ''
    ON CONFLICT (sha256) DO NOTHING;

-- A mail on the review list that is taken in later (moved back to the
-- inbox after the portal key was corrected; a message whose case came
-- after it): its receipt changes from 'review' to what took it in, and
-- in the same statement its open review entry is resolved with a note
-- and the audit log says so. An open entry always has a review receipt
-- (AddReview writes both), so this is the one place that needs to look.
CREATE TRIGGER mail_receipts_taken AFTER UPDATE OF kind ON mail_receipts
WHEN OLD.kind = 'review' AND NEW.kind <> 'review'
BEGIN
    INSERT INTO audit_log (at, clerk, office, action, ref, detail)
        SELECT NEW.at, 'portal', '', 'review.resolve', NEW.ref, 'review=' || id || ' taken'
        FROM review_items WHERE raw_sha256 = NEW.sha256 AND handled = 0;
    UPDATE review_items SET handled = 1, handled_by = 'portal', handled_at = NEW.at,
        resolution = CASE WHEN NEW.ref <> '' THEN 'case:' || NEW.ref ELSE 'taken' END,
        note = 'Nachträglich übernommen: ein späterer Abgleich hat die Mail als echte Portalsendung erkannt und übernommen.'
        WHERE raw_sha256 = NEW.sha256 AND handled = 0;
END;

-- Where each mail was filed on the server (the UID in the processed or
-- review folder, from the server's COPYUID answer), so that the retention
-- purge removes exactly these mails from the server. Keyed by the place:
-- the sync appends in UID order; the purge looks them up by content in
-- one scan per few hundred mails.
CREATE TABLE mail_locations (
    mailbox     TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
) WITHOUT ROWID;

-- What the retention purge deleted here and the sync must still delete on
-- the server: a recorded place, or (portal_case) every mail of a purged
-- case found in the folders.
CREATE TABLE mail_purges (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT    NOT NULL DEFAULT '',
    uidvalidity INTEGER NOT NULL DEFAULT 0,
    uid         INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT    NOT NULL DEFAULT '',
    portal_case TEXT    NOT NULL DEFAULT '',
    queued_at   TEXT    NOT NULL
);

-- An open review entry is resolved when its mail is taken in later
-- (found by content), and a message that came before its application is
-- retried when the case arrives.
CREATE INDEX review_items_open_sha ON review_items (raw_sha256) WHERE handled = 0;
CREATE INDEX review_items_waiting ON review_items (portal_case) WHERE handled = 0 AND reason = 'case-unknown';

-- The flag filter of the two new flags (see 0006).
CREATE INDEX cases_flag_withdrawal_unconfirmed ON cases (office, status, received_at) WHERE instr(flags, ',withdrawal-unconfirmed,') > 0;
CREATE INDEX cases_flag_date_implausible ON cases (office, status, received_at) WHERE instr(flags, ',date-implausible,') > 0;
