package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// An Ulmen clerk, connected with their own role by plain SQL, gets no row
// of a Zell case or of anything belonging to it, and can change none.
func TestClerkSeesOnlyOwnOffice(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	zell := insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	ulmen := insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})
	if _, err := sync.Exec(ctx, `INSERT INTO amtstresen.appointments (uid, sequence, status, office, citizen_name, updated_at)
		VALUES ('t-zell', 0, 'confirmed', 'vg-zell', 'Anna Zöller', now()), ('t-ulmen', 0, 'confirmed', 'vg-ulmen', 'Karl Ulmer', now())`); err != nil {
		t.Fatal(err)
	}
	clerk := db.newLogin("ulm", "clerk", "vg-ulmen")
	conn := clerk.conn()

	for _, tc := range []struct {
		what       string
		sql        string
		zell, ulmn int
	}{
		{"cases", "SELECT count(*) FROM amtstresen.cases WHERE id = $1", 0, 1},
		{"case_docs", "SELECT count(*) FROM amtstresen.case_docs WHERE case_id = $1", 0, 1},
		{"notes", "SELECT count(*) FROM amtstresen.notes WHERE case_id = $1", 0, 1},
		{"attachments", "SELECT count(*) FROM amtstresen.attachments WHERE case_id = $1", 0, 1},
		{"case_search", "SELECT count(*) FROM amtstresen.case_search WHERE case_id = $1", 0, 1},
		{"blobs", "SELECT count(*) FROM amtstresen.blobs b JOIN amtstresen.attachments a ON a.sha256 = b.sha256 WHERE a.case_id = $1 OR b.data = convert_to('Impfpass von ' || (SELECT ref FROM amtstresen.cases WHERE id = $1), 'UTF8')", 0, 1},
		{"audit", "SELECT count(*) FROM amtstresen.audit_log WHERE ref = (SELECT ref FROM amtstresen.cases WHERE id = $1)", 0, 1},
	} {
		if n := count(t, conn, tc.sql, zell); n != tc.zell {
			t.Errorf("%s of the Zell case: %d rows, want %d", tc.what, n, tc.zell)
		}
		if n := count(t, conn, tc.sql, ulmen); n != tc.ulmn {
			t.Errorf("%s of the Ulmen case: %d rows, want %d", tc.what, n, tc.ulmn)
		}
	}
	// Also by reference and name, and not through the search.
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.cases WHERE ref = 'ZEL-2026-00001' OR applicant_name LIKE '%Zöller%'"); n != 0 {
		t.Errorf("Zell case by ref or name: %d rows", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.case_search WHERE doc @@ amtstresen.search_query($1)", SearchWords("Zöller")); n != 0 {
		t.Errorf("Zell case through the search index: %d rows", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.blobs"); n != 1 {
		t.Errorf("blobs: %d visible, want only the Ulmen case's", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.appointments"); n != 1 {
		t.Errorf("appointments: %d visible, want only Ulmen's", n)
	}

	// Changes to the Zell case reach no row.
	for _, q := range []string{
		"UPDATE amtstresen.cases SET assignee = 'x' WHERE id = $1",
		"UPDATE amtstresen.cases SET status = 'withdrawn' WHERE id = $1",
		"UPDATE amtstresen.appointments SET attendance = 'no_show' WHERE uid = 't-zell' AND $1::bigint > 0",
	} {
		tag, err := conn.Exec(ctx, q, zell)
		if err != nil || tag.RowsAffected() != 0 {
			t.Errorf("%s: %d rows, %v", q, tag.RowsAffected(), err)
		}
	}
	// Deleting is not a clerk's right at all.
	if _, err := conn.Exec(ctx, "DELETE FROM amtstresen.cases WHERE id = $1", ulmen); pgCode(err) != "42501" {
		t.Errorf("clerk deletes a case: %v", err)
	}
	// Nor is adding a note to a case one does not see.
	_, err := conn.Exec(ctx, "INSERT INTO amtstresen.notes (case_id, at, author, kind, text) VALUES ($1, now(), $2, 'note', 'x')", zell, clerk.Account)
	if pgCode(err) != "42501" || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("note on the Zell case: %v", err)
	}
	// A clerk changes the workflow of a case, not what it is; counters
	// move on only through next_ref_number.
	for _, q := range []string{
		"UPDATE amtstresen.cases SET ref = 'ULM-2026-00099' WHERE id = $1",
		"UPDATE amtstresen.cases SET applicant_name = 'X' WHERE id = $1",
		"UPDATE amtstresen.notes SET text = 'x' WHERE case_id = $1",
		"UPDATE amtstresen.ref_counters SET last = 0 WHERE $1::bigint > 0",
		"INSERT INTO amtstresen.ref_counters VALUES ('ZEL', 2026, $1)",
	} {
		if _, err := conn.Exec(ctx, q, ulmen); pgCode(err) != "42501" {
			t.Errorf("%s: %v", q, err)
		}
	}
	// The Ulmen case is the clerk's to work on.
	if tag, err := conn.Exec(ctx, "UPDATE amtstresen.cases SET assignee = $2 WHERE id = $1", ulmen, clerk.Account); err != nil || tag.RowsAffected() != 1 {
		t.Errorf("claim own office's case: %d rows, %v", tag.RowsAffected(), err)
	}

	// The same with the psql binary, as an IT admin would try it.
	out, err := cluster.Psql(db.name, clerk.Account, clerk.Password,
		"SELECT count(*) FROM amtstresen.cases WHERE ref = 'ZEL-2026-00001'")
	if err != nil || strings.TrimSpace(out) != "0" {
		t.Errorf("psql: %q, %v", out, err)
	}
	out, err = cluster.Psql(db.name, clerk.Account, clerk.Password,
		"SELECT count(*) FROM amtstresen.cases WHERE ref = 'ULM-2026-00001'")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("psql own case: %q, %v", out, err)
	}
	out, err = cluster.Psql(db.name, clerk.Account, clerk.Password, "UPDATE amtstresen.audit_log SET detail = 'x'")
	if err == nil || !strings.Contains(out, "permission denied for table audit_log") {
		t.Errorf("psql UPDATE audit_log: %q, %v", out, err)
	}
}

// The audit log takes new entries only; deleting is the purge's alone,
// and not even the owner may change it.
func TestAuditAppendOnly(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	insertCase(t, sync, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Name: "Karl Ulmer", Author: "portal"})
	clerk := db.newLogin("ulm", "clerk", "vg-ulmen")
	admin := db.newLogin("admin", "admin", "")
	purge := db.serviceLogin("loeschlauf", "purge")

	c := clerk.conn()
	if _, err := c.Exec(ctx, "INSERT INTO amtstresen.audit_log (at, clerk, office, action, ref) VALUES (now(), $1, 'vg-ulmen', 'case.read', 'ULM-2026-00001')", clerk.Account); err != nil {
		t.Fatalf("clerk appends: %v", err)
	}
	// Only in their own name and office.
	for _, args := range [][]any{{"someone", "vg-ulmen"}, {clerk.Account, "vg-zell"}} {
		_, err := c.Exec(ctx, "INSERT INTO amtstresen.audit_log (at, clerk, office, action) VALUES (now(), $1, $2, 'case.read')", args...)
		if pgCode(err) != "42501" {
			t.Errorf("clerk appends as %v: %v", args, err)
		}
	}
	for name, conn := range map[string]execer{"clerk": c, "admin": admin.conn(), "owner": db.owner()} {
		for _, q := range []string{
			"UPDATE amtstresen.audit_log SET detail = 'x'",
			"DELETE FROM amtstresen.audit_log",
			"TRUNCATE amtstresen.audit_log",
		} {
			if _, err := conn.Exec(ctx, q); pgCode(err) != "42501" {
				t.Errorf("%s: %s: %v", name, q, err)
			}
		}
	}
	// The owner that gives itself the rights back still changes nothing:
	// it sees no row (FORCE ROW LEVEL SECURITY, no policy for the owner),
	// and the trigger refuses whoever sees them, the superuser included.
	o := db.owner()
	if _, err := o.Exec(ctx, "GRANT UPDATE, DELETE ON amtstresen.audit_log TO CURRENT_USER"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE amtstresen.audit_log SET detail = 'x'", "DELETE FROM amtstresen.audit_log"} {
		if tag, err := o.Exec(ctx, q); err == nil && tag.RowsAffected() != 0 {
			t.Errorf("owner with the privilege: %s: %d rows", q, tag.RowsAffected())
		}
	}
	_, err := db.super().Exec(ctx, "UPDATE amtstresen.audit_log SET detail = 'x'")
	if pgCode(err) != "42501" || !strings.Contains(err.Error(), "nur ergänzt") {
		t.Errorf("superuser UPDATE: %v", err)
	}
	if n := count(t, db.super(), "SELECT count(*) FROM amtstresen.audit_log WHERE detail = 'x'"); n != 0 {
		t.Errorf("%d entries changed", n)
	}
	n := count(t, db.super(), "SELECT count(*) FROM amtstresen.audit_log")
	if n < 3 { // case.create, role.set ×2, case.read
		t.Fatalf("audit rows: %d", n)
	}
	// The purge may delete.
	tag, err := purge.conn().Exec(ctx, "DELETE FROM amtstresen.audit_log WHERE action = 'case.read'")
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("purge deletes: %d rows, %v", tag.RowsAffected(), err)
	}
	if got := count(t, db.super(), "SELECT count(*) FROM amtstresen.audit_log"); got != n-1 {
		t.Errorf("after purge: %d rows, want %d", got, n-1)
	}
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// No role but the owner (the migration role) can switch row-level security
// off or around: clerks, leads and admins are not owners, superusers or
// BYPASSRLS, cannot become the owner, and cannot add or drop policies.
func TestRolesCannotDisableRLS(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	logins := []*login{db.newLogin("ulm", "clerk", "vg-ulmen"), db.newLogin("ulml", "lead", "vg-ulmen"), db.newLogin("adm", "admin", "")}
	for _, l := range logins {
		conn := l.conn()
		for _, q := range []string{
			"ALTER TABLE amtstresen.cases DISABLE ROW LEVEL SECURITY",
			"ALTER TABLE amtstresen.cases NO FORCE ROW LEVEL SECURITY",
			"ALTER TABLE amtstresen.audit_log DISABLE TRIGGER audit_log_append_only",
			"DROP POLICY office ON amtstresen.cases",
			"CREATE POLICY mine ON amtstresen.cases FOR SELECT USING (true)",
			"ALTER TABLE amtstresen.cases OWNER TO " + l.Account,
			"SET ROLE " + migrator,
			"SET ROLE amtstresen_purge",
			"GRANT amtstresen_admin TO " + l.Account,
			"CREATE FUNCTION amtstresen.my_offices2() RETURNS text[] LANGUAGE sql AS 'SELECT NULL::text[]'",
			"CREATE TABLE public.x (y int)",
			"ALTER ROLE " + l.Account + " BYPASSRLS",
		} {
			if _, err := conn.Exec(ctx, q); err == nil {
				t.Errorf("%s: %s: allowed", l.Account, q)
			}
		}
		// Switching row security off makes a query fail, never see more.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL row_security = off"); err != nil {
			t.Fatal(err)
		}
		var n int
		err = tx.QueryRow(ctx, "SELECT count(*) FROM amtstresen.cases").Scan(&n)
		if err == nil || !strings.Contains(err.Error(), "row-level security") {
			t.Errorf("%s: row_security = off: %d rows, %v", l.Account, n, err)
		}
		tx.Rollback(ctx)
	}

	// The catalog says the same: the logins have no special rights, and
	// every table is owned by the migration role, which no other role is a
	// member of.
	super := db.super()
	for _, l := range logins {
		var super_, bypass, createRole, createDB, repl bool
		if err := super.QueryRow(ctx, "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication FROM pg_roles WHERE rolname = $1", l.Account).
			Scan(&super_, &bypass, &createRole, &createDB, &repl); err != nil {
			t.Fatal(err)
		}
		if super_ || bypass || createRole || createDB || repl {
			t.Errorf("%s has special rights", l.Account)
		}
	}
	if n := count(t, super, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'amtstresen' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> $1`, migrator); n != 0 {
		t.Errorf("%d relations not owned by the migration role", n)
	}
	if n := count(t, super, `SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = $1`, migrator); n != 0 {
		t.Errorf("the migration role has %d members", n)
	}
	// Every table with personal data has forced row-level security.
	var unprotected []string
	rows, err := super.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'amtstresen' AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
		AND c.relname IN ('cases', 'case_docs', 'notes', 'attachments', 'blobs', 'case_search', 'search_words', 'search_words_gone', 'appointments', 'audit_log')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		unprotected = append(unprotected, s)
	}
	if rows.Err() != nil || len(unprotected) > 0 {
		t.Errorf("without forced row-level security: %v %v", unprotected, rows.Err())
	}
	// The owner itself sees no citizen's data.
	if n := count(t, db.owner(), "SELECT count(*) FROM amtstresen.cases"); n != 0 {
		t.Errorf("owner sees %d cases", n)
	}
}

// A lead sees every case with an open routing question (no office yet,
// or flagged routing-unclear), besides their own office's; clerks do not.
// Undecided cases belong to the Kreisverwaltung's clerks until routed.
func TestLeadSeesUnroutedCase(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	undecided := insertCase(t, sync, testCase{Ref: "CZ-2026-00001", Office: "", Name: "Otto Offen", Author: "portal"})
	unclear := insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Flags: []string{"routing-unclear"}, Name: "Ute Unklar", Author: "portal"})
	zell := insertCase(t, sync, testCase{Ref: "ZEL-2026-00002", Office: "vg-zell", Flags: []string{"attachment-missing"}, Name: "Zora Zell", Author: "portal"})

	visible := func(l *login) map[int64]bool {
		rows, err := l.conn().Query(ctx, "SELECT id FROM amtstresen.cases")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]bool{}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			out[id] = true
		}
		return out
	}
	ulmLead := db.newLogin("ulml", "lead", "vg-ulmen")
	for _, tc := range []struct {
		l    *login
		want []int64
	}{
		{ulmLead, []int64{undecided, unclear}},
		{db.newLogin("zell", "lead", "vg-zell"), []int64{undecided, unclear, zell}},
		{db.newLogin("ulm", "clerk", "vg-ulmen"), nil},
		{db.newLogin("zel", "clerk", "vg-zell"), []int64{unclear, zell}},
		{db.newLogin("kv", "clerk", "kreis"), []int64{undecided}},
		{db.newLogin("adm", "admin", ""), []int64{undecided, unclear, zell}},
	} {
		got := visible(tc.l)
		if len(got) != len(tc.want) {
			t.Errorf("%s sees %v, want %v", tc.l.Account, got, tc.want)
		}
		for _, id := range tc.want {
			if !got[id] {
				t.Errorf("%s does not see case %d", tc.l.Account, id)
			}
		}
	}
	// The Ulmen lead routes the undecided case to Cochem, with a note in
	// the same transaction; afterwards it is Cochem's, not theirs.
	conn := ulmLead.conn()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tag, err := tx.Exec(ctx, "UPDATE amtstresen.cases SET office = 'vg-cochem', forwarded_from = '' WHERE id = $1", undecided); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("route: %d rows, %v", tag.RowsAffected(), err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO amtstresen.notes (case_id, at, author, kind, text) VALUES ($1, now(), $2, 'forward', 'Cochem zuständig')", undecided, ulmLead.Account); err != nil {
		t.Fatalf("note after routing: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if visible(ulmLead)[undecided] {
		t.Error("the lead still sees the routed case")
	}
	if !visible(db.newLogin("coc", "clerk", "vg-cochem"))[undecided] {
		t.Error("Cochem does not see the case routed to it")
	}
}

// A clerk takes in a walk-in application that belongs to another office:
// case, documents, search row, attachment and note in one transaction.
// After the commit the clerk no longer sees it; the other office does.
func TestCounterCaseForOtherOffice(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	clerk := db.newLogin("ulm", "clerk", "vg-ulmen")
	conn := clerk.conn()
	// The same file as in a case the clerk may not see: stored once.
	sync := db.serviceLogin("abgleich", "sync").conn()
	insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	if _, err := sync.Exec(ctx, "UPDATE amtstresen.blobs SET data = data"); err == nil {
		t.Fatal("sync may update blobs")
	}
	id := insertCase(t, conn, testCase{Ref: "ZEL-2026-00002", Office: "vg-zell", Channel: "counter", Name: "Anna Zöller", Author: clerk.Account})
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.cases WHERE id = $1", id); n != 0 {
		t.Errorf("the clerk still sees the other office's case after the commit")
	}
	zell := db.newLogin("zel", "clerk", "vg-zell").conn()
	for _, tbl := range []string{"cases WHERE id", "case_docs WHERE case_id", "case_search WHERE case_id", "attachments WHERE case_id", "notes WHERE case_id"} {
		if n := count(t, zell, "SELECT count(*) FROM amtstresen."+tbl+" = $1", id); n != 1 {
			t.Errorf("Zell: %s: %d rows", tbl, n)
		}
	}
	if n := count(t, zell, "SELECT count(*) FROM amtstresen.blobs"); n != 2 {
		t.Errorf("Zell sees %d blobs", n)
	}
	// A clerk cannot take in a portal case, nor write a note in another's name.
	_, err := conn.Exec(ctx, `INSERT INTO amtstresen.cases (ref, office, channel, service, status, received_at, updated_at)
		VALUES ('ULM-2026-00009', 'vg-ulmen', 'portal', 'x', 'received', now(), now())`)
	if pgCode(err) != "42501" {
		t.Errorf("clerk inserts a portal case: %v", err)
	}
	own := insertCase(t, conn, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Channel: "counter", Name: "Karl Ulmer", Author: clerk.Account})
	_, err = conn.Exec(ctx, "INSERT INTO amtstresen.notes (case_id, at, author, kind, text) VALUES ($1, now(), 'jemand', 'note', 'x')", own)
	if pgCode(err) != "42501" {
		t.Errorf("note in another's name: %v", err)
	}
}

// Files are stored once by content: a clerk storing a file that an
// invisible case holds already stores nothing and learns nothing, and
// nobody can store other content under a hash.
func TestBlobsDeduplicatedByHash(t *testing.T) {
	db := newDB(t)
	ctx := context.Background()
	sync := db.serviceLogin("abgleich", "sync").conn()
	insertCase(t, sync, testCase{Ref: "ZEL-2026-00001", Office: "vg-zell", Name: "Anna Zöller", Author: "portal"})
	clerk := db.newLogin("ulm", "clerk", "vg-ulmen")
	conn := clerk.conn()
	own := insertCase(t, conn, testCase{Ref: "ULM-2026-00001", Office: "vg-ulmen", Channel: "counter", Name: "Karl Ulmer", Author: clerk.Account})
	same := []byte("Impfpass von ZEL-2026-00001")
	tag, err := conn.Exec(ctx, "INSERT INTO amtstresen.blobs (sha256, size, data) VALUES (encode(sha256($1), 'hex'), length($1), $1) ON CONFLICT DO NOTHING", same)
	if err != nil || tag.RowsAffected() != 0 {
		t.Fatalf("store an existing file: %d rows, %v", tag.RowsAffected(), err)
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.blobs WHERE data = $1", same); n != 0 {
		t.Fatal("the file of the Zell case is visible before it is attached")
	}
	if _, err := conn.Exec(ctx, "INSERT INTO amtstresen.attachments (case_id, pos, name, sha256, blob) VALUES ($1, 1, 'kopie.pdf', encode(sha256($2::bytea), 'hex'), encode(sha256($2::bytea), 'hex'))", own, same); err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, "SELECT count(*) FROM amtstresen.blobs WHERE data = $1", same); n != 1 {
		t.Fatal("the attached file is not visible")
	}
	if n := count(t, db.super(), "SELECT count(*) FROM amtstresen.blobs WHERE data = $1", same); n != 1 {
		t.Fatalf("stored %d times", n)
	}
	_, err = conn.Exec(ctx, "INSERT INTO amtstresen.blobs (sha256, size, data) VALUES (encode(sha256('a'::bytea), 'hex'), 1, 'b'::bytea)")
	if pgCode(err) != "23514" { // check_violation
		t.Errorf("content under another hash: %v", err)
	}
}
