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
DROP TABLE amtstresen.processed_mails;

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

-- A clerk writes audit entries in their own name, for their own office or
-- for the office of the case the entry is about: taking in a walk-in
-- application for another office and forwarding a case name the office
-- the case is in then (as the SQLite store does), and a lead of that
-- office reads them. The case is visible to the transaction that wrote it
-- (policy own_transaction).
DROP POLICY own_name ON amtstresen.audit_log;
CREATE POLICY own_name ON amtstresen.audit_log FOR INSERT TO amtstresen_clerk, amtstresen_lead
    WITH CHECK (clerk = session_user AND (office = '' OR office = ANY ((SELECT amtstresen.my_offices())::text[])
        OR EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.ref = audit_log.ref AND c.office = audit_log.office)));

-- set_clerk_role and remove_clerk_role record the administrator who acts
-- as the program resolved them (app.Actor: the OS account and its office)
-- and the program's time, like every other change; without them, the
-- session's login role and the server's time, as before. Only
-- administrators call them, and an administrator's audit entries are
-- trusted (policy append). The functions of schema 1 stay as wrappers.
CREATE FUNCTION amtstresen.set_clerk_role(account text, kind text, office text, display_name text, password_verifier text,
    by_clerk text, by_office text, at timestamptz)
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
    by_clerk := coalesce(nullif(by_clerk, ''), session_user);
    by_office := coalesce(by_office, (SELECT ro.office FROM amtstresen.roles ro WHERE ro.clerk = by_clerk), '');
    at := coalesce(at, now());
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
    VALUES (account, kind, office, coalesce(display_name, ''), at, by_clerk)
    ON CONFLICT (clerk) DO UPDATE SET role = excluded.role, office = excluded.office, name = excluded.name,
        updated_at = excluded.updated_at, updated_by = excluded.updated_by;
    INSERT INTO amtstresen.audit_log (at, clerk, office, action, ref, detail)
    VALUES (at, by_clerk, by_office, 'role.set', account, kind || '@' || office || coalesce('<-' || prev, ''));
END
$$;

CREATE FUNCTION amtstresen.remove_clerk_role(account text, by_clerk text, by_office text, at timestamptz)
    RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    r record;
    was text;
BEGIN
    by_clerk := coalesce(nullif(by_clerk, ''), session_user);
    by_office := coalesce(by_office, (SELECT ro.office FROM amtstresen.roles ro WHERE ro.clerk = by_clerk), '');
    at := coalesce(at, now());
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
    VALUES (at, by_clerk, by_office, 'role.remove', account, was);
END
$$;

CREATE OR REPLACE FUNCTION amtstresen.set_clerk_role(account text, kind text, office text, display_name text, password_verifier text)
    RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT amtstresen.set_clerk_role(account, kind, office, display_name, password_verifier, NULL, NULL, NULL);
    END;
CREATE OR REPLACE FUNCTION amtstresen.remove_clerk_role(account text)
    RETURNS void
    LANGUAGE sql
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT amtstresen.remove_clerk_role(account, NULL, NULL, NULL);
    END;
REVOKE ALL ON FUNCTION amtstresen.set_clerk_role(text, text, text, text, text, text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION amtstresen.remove_clerk_role(text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.set_clerk_role(text, text, text, text, text, text, text, timestamptz) TO amtstresen_admin;
GRANT EXECUTE ON FUNCTION amtstresen.remove_clerk_role(text, text, text, timestamptz) TO amtstresen_admin;

-- Which office a case or an appointment belongs to, also for a role that
-- may not see it: the program tells "belongs to another office" from "does
-- not exist" and logs the refused access ("case.read.denied", as app.Scoped
-- does for the SQLite store). Reference and office only, never personal
-- data. The functions run as amtstresen_lookup, a role without login and
-- without members that reads these columns only.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'amtstresen_lookup') THEN
        BEGIN
            CREATE ROLE amtstresen_lookup NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- another database of the cluster created it just now
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'amtstresen_lookup'
               AND (rolcanlogin OR rolsuper OR rolbypassrls OR rolcreaterole OR rolreplication)) THEN
        RAISE EXCEPTION 'Die Gruppenrolle amtstresen_lookup darf sich anmelden oder hat Sonderrechte. Bitte die Rolle prüfen (NOLOGIN, kein SUPERUSER, kein BYPASSRLS).';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA amtstresen TO amtstresen_lookup;
GRANT SELECT (ref, provisional_ref, portal_case, office) ON amtstresen.cases TO amtstresen_lookup;
GRANT SELECT (uid, office) ON amtstresen.appointments TO amtstresen_lookup;
CREATE POLICY lookup ON amtstresen.cases FOR SELECT TO amtstresen_lookup USING (true);
CREATE POLICY lookup ON amtstresen.appointments FOR SELECT TO amtstresen_lookup USING (true);

CREATE FUNCTION amtstresen.case_office(key_ref text, key_portal text) RETURNS TABLE (case_ref text, case_office text)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT c.ref, c.office FROM amtstresen.cases c
        WHERE c.ref = key_ref OR (c.provisional_ref = key_ref AND c.provisional_ref <> '') OR c.portal_case = key_portal
        LIMIT 1;
    END;
CREATE FUNCTION amtstresen.appointment_office(key_uid text) RETURNS TABLE (appointment_office text)
    LANGUAGE sql STABLE
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        SELECT a.office FROM amtstresen.appointments a WHERE a.uid = key_uid;
    END;
REVOKE ALL ON FUNCTION amtstresen.case_office(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION amtstresen.appointment_office(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION amtstresen.case_office(text, text), amtstresen.appointment_office(text) TO amtstresen_konto;

-- Handing the functions to amtstresen_lookup needs a moment's membership
-- and the right to create in the schema; both are taken back at once.
GRANT amtstresen_lookup TO CURRENT_USER;
GRANT CREATE ON SCHEMA amtstresen TO amtstresen_lookup;
ALTER FUNCTION amtstresen.case_office(text, text) OWNER TO amtstresen_lookup;
ALTER FUNCTION amtstresen.appointment_office(text) OWNER TO amtstresen_lookup;
REVOKE CREATE ON SCHEMA amtstresen FROM amtstresen_lookup;
REVOKE amtstresen_lookup FROM CURRENT_USER;
