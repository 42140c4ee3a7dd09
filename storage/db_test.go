package storage

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"amtstresen/app"
)

// The connection settings of the DSN are in effect on the connections.
func TestOpenPragmas(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"secure_delete", "1"},
		{"busy_timeout", "5000"},
		{"application_id", "1095586899"},
	} {
		// Several connections of the pool, not just the first one.
		conns := make([]*sql.Conn, 3)
		for i := range conns {
			c, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, tc.pragma, got, tc.want)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	var v int
	if err := db.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("user_version = %d (%v), want %d", v, err, SchemaVersion)
	}
	// Transactions are IMMEDIATE: a second writer waits instead of
	// failing on a lock upgrade. BEGIN IMMEDIATE takes the write lock, so a
	// write from another connection while it is open must wait.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := db.db.Conn(ctx)
	defer c2.Close()
	_, err = c2.ExecContext(ctx, "PRAGMA busy_timeout = 0; BEGIN IMMEDIATE")
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second writer during an open transaction: err = %v, want database is locked", err)
	}
	tx.Rollback()
	c2.ExecContext(ctx, "PRAGMA busy_timeout = 5000")
}

func TestOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "new", "data")
	path := filepath.Join(dir, "amtstresen.db")
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A write so that -wal and -shm exist.
	if _, _, err := db.CreateCase(context.Background(), newDogCase(t, "p1", "Anna", "Muster", app.OfficeCochem, testNow), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Dir(dir), 0o700},
		{path, 0o600},
		{path + "-wal", 0o600},
		{path + "-shm", 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("%s: mode %o, want %o", filepath.Base(tc.path), got, tc.want)
		}
	}
}

// An existing file with loose permissions is tightened; an existing
// folder (maybe the user's own) is left alone.
func TestOpenTightensExistingFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "a.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %o, want 600", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("existing folder changed to %o", fi.Mode().Perm())
	}
}

// Paths with characters that mean something in a URI still work.
func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Datei #1 ?50% ä", "amtstresen.db")
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %s: %v", path, err)
	}
}

func TestOpenTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	db, err := Open(context.Background(), path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(context.Background(), path, testReg)
	wantCode(t, err, app.ETOONEW)
	if msg := app.ErrorMessage(err); !strings.Contains(msg, "neueren Version von Amtstresen") || !strings.Contains(msg, "bitte die neuere Version verwenden") {
		t.Errorf("message = %q", msg)
	}
}

func TestOpenNotAmtstresen(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("kein SQLite ", 400)), 0o600)
	_, err := Open(context.Background(), garbage, testReg)
	wantCode(t, err, app.EINVALID)

	other := filepath.Join(dir, "other.db")
	sdb, err := sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec("PRAGMA application_id = 42; CREATE TABLE x (y)"); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	_, err = Open(context.Background(), other, testReg)
	wantCode(t, err, app.EINVALID)
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	ctx := context.Background()
	db, err := Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.CreateCase(ctx, newDogCase(t, "p1", "Anna", "Muster", app.OfficeCochem, testNow), nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.CaseByRef(ctx, c.Ref)
	if err != nil || got.Applicant.LastName != "Muster" {
		t.Fatalf("after reopen: %v, %+v", err, got)
	}
}

// Migration 0001 is released: it must stay byte for byte what it was.
func TestSchemaV1Frozen(t *testing.T) {
	frozen, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	if migrations[0].sql != string(frozen) {
		t.Fatal("migrations/0001_init.sql differs from testdata/schema_v1.sql: released migrations are append-only; add a new migration instead")
	}
}

// A database of schema version 1 with data is upgraded by Open to the
// current version, data intact and usable.
func TestUpgradeFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	schema, err := os.ReadFile("testdata/schema_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(schema),
		"PRAGMA user_version = 1",
		`INSERT INTO cases (id, ref, idempotency_key, office, channel, service, portal_case, status, assignee, flags, municipality,
			applicant_name, applicant_sort, received_at, updated_at)
		 VALUES (7, 'ZEL-2025-00007', 'p-7', 'vg-zell', 'portal', 'hund-anmelden', 'p-7', 'in_progress', 'mm', ',outside-district,',
			'07135001', 'Anna Zöller', 'zoller anna', '2025-06-01T08:00:00.000000000Z', '2025-06-02T08:00:00.000000000Z')`,
		`INSERT INTO case_docs (case_id, applicant, fields, raw) VALUES (7, '{"vorname":"Anna","nachname":"Zöller","anschrift":{"strasse":"","plz":"56859","ort":"Alf"}}', '{"hund":{"name":"Bello"}}', NULL)`,
		`INSERT INTO cases_fts (rowid, ref, applicant, service, place, fields, alt) VALUES (7, 'ZEL-2025-00007', 'Anna Zöller', 'hund-anmelden', 'Alf', 'Bello', 'Zoeller 7')`,
		`INSERT INTO ref_counters (prefix, year, last) VALUES ('ZEL', 2025, 7)`,
		`INSERT INTO notes (case_id, at, author, kind, text) VALUES (7, '2025-06-02T08:00:00.000000000Z', 'mm', 'note', 'angerufen')`,
		`INSERT INTO audit_log (at, clerk, action, ref) VALUES ('2025-06-01T08:00:00.000000000Z', 'portal', 'case.create', 'ZEL-2025-00007')`,
	} {
		if _, err := sdb.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	sdb.Close()

	db, err := Open(ctx, path, testReg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	db.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion || SchemaVersion < 2 {
		t.Fatalf("user_version = %d, want %d (>= 2)", v, SchemaVersion)
	}
	c, err := db.CaseByRef(ctx, "ZEL-2025-00007")
	if err != nil {
		t.Fatal(err)
	}
	if c.Applicant.LastName != "Zöller" || c.Assignee != "mm" || !c.HasFlag(app.FlagOutsideDistrict) || c.Status != app.StatusInProgress {
		t.Errorf("case after upgrade: %+v", c)
	}
	// The queue, the flag filter and the search use the new indexes.
	for _, f := range []app.CaseFilter{
		{Offices: []app.OfficeKey{app.OfficeZell}, Statuses: []app.Status{app.StatusInProgress}},
		{Flag: app.FlagOutsideDistrict},
		{Assignee: "mm"},
		{Query: "zoell"},
		{Service: "hund-anmelden", Sort: "+applicant"},
	} {
		got, err := db.ListCases(ctx, f)
		if err != nil || len(got) != 1 || got[0].Ref != "ZEL-2025-00007" {
			t.Errorf("ListCases(%+v) = %+v, %v", f, got, err)
		}
	}
	// Numbering continues.
	nc := newDogCase(t, "p-8", "Karl", "Zender", app.OfficeZell, testNow.AddDate(-1, 0, 0))
	if c, _, err := db.CreateCase(ctx, nc, nil); err != nil || c.Ref != "ZEL-2025-00008" {
		t.Errorf("next case: %v, %v", c, err)
	}
	if notes, err := db.Notes(ctx, "ZEL-2025-00007"); err != nil || len(notes) != 1 {
		t.Errorf("notes: %v, %v", notes, err)
	}
	var n int
	db.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'cases_queue'").Scan(&n)
	if n != 0 {
		t.Error("index cases_queue of version 1 still there")
	}
}

func TestMigrationsNumbered(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d: %+v", i, m.name)
		}
	}
}
