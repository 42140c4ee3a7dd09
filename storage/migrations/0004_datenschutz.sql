-- Schema version 4: data protection and safe operation.

-- Who may do what: a clerk (OS account) has one role in one office.
-- Changes are audited ("role.set", "role.remove") in the same transaction.
CREATE TABLE roles (
    clerk      TEXT PRIMARY KEY,                 -- OS account, lower case, without domain
    role       TEXT NOT NULL CHECK (role IN ('clerk', 'lead', 'admin')),
    office     TEXT NOT NULL DEFAULT '',         -- required for clerk and lead
    name       TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) WITHOUT ROWID;

-- The last run of each maintenance job (purge, backup), for the catch-up
-- of a missed nightly run and for the settings screen. No personal data.
CREATE TABLE maintenance_runs (
    job         TEXT PRIMARY KEY,
    last_run    TEXT NOT NULL DEFAULT '',
    last_result TEXT NOT NULL DEFAULT '',
    last_error  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- The retention purge looks for closed cases and past appointments.
CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at <> '';
CREATE INDEX appointments_end ON appointments (end_at);
-- The Art. 15 export looks up a person by e-mail address.
CREATE INDEX cases_email ON cases (lower(email)) WHERE email <> '';
CREATE INDEX appointments_email ON appointments (lower(citizen_email)) WHERE citizen_email <> '';
