-- Schema version 6: the purge deletes the files of the cases it deletes,
-- and the mails of the mailbox.
--
-- A file (blobs) is visible to whoever sees an attachment that refers to
-- it (policy with_attachment). Once the purge had deleted a case and its
-- attachments, the case's files were visible to nobody, and the purge's
-- DELETE of the files no other case refers to reached no row: the
-- contents stayed in the table. The administration and the purge see
-- every file (they see every case anyway), so that the purge finds those
-- left without an attachment.
CREATE POLICY purge_orphans ON amtstresen.blobs FOR SELECT TO amtstresen_admin, amtstresen_purge
    USING (true);

-- The purge's service account also carries the purge to the mailbox
-- (amtstresen purge, amtstresen nightly): it reads the queued server
-- copies and forgets those it removed.
GRANT DELETE ON amtstresen.mail_purges TO amtstresen_purge;
