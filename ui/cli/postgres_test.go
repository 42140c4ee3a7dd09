package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"amtstresen/app"
	"amtstresen/storage"
	"amtstresen/storage/postgres"
	"amtstresen/storage/postgres/pgtest"
	portaldemo "amtstresen/sync/demo"
	"amtstresen/ui/internal/seed"
)

// The private PostgreSQL of this package's tests: started by the first
// test that needs it, stopped by TestMain.
var (
	pgOnce    gosync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
)

// The migration role of the test cluster, as the README tells the IT to
// create it, and the template database it migrated once.
const (
	pgMigrator = "amtstresen_migration"
	pgTemplate = "amtstresen_cli_template"
)

var pgMigratorPassword = pgtest.Password()

func stopPG() {
	if pgCluster != nil {
		pgCluster.Stop()
	}
}

// pgDatabase returns a new migrated, empty database of the private
// cluster (dropped when t ends) and the cluster.
func pgDatabase(t *testing.T) (*pgtest.Cluster, string) {
	t.Helper()
	pgOnce.Do(func() {
		pgCluster, pgErr = pgtest.StartCluster()
		if pgErr != nil {
			return
		}
		ctx := context.Background()
		pgErr = pgCluster.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN CREATEROLE PASSWORD '%s'", pgMigrator, pgMigratorPassword))
		if pgErr != nil {
			return
		}
		pgErr = pgCluster.Template(pgTemplate, pgMigrator, func(ctx context.Context, _ string) error {
			conn, err := pgx.Connect(ctx, pgCluster.URL(pgTemplate, pgMigrator, pgMigratorPassword))
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			return postgres.Migrate(ctx, conn)
		})
	})
	if pgErr != nil {
		t.Fatal(pgErr)
	}
	return pgCluster, pgCluster.CreateDatabase(t, pgMigrator, pgTemplate)
}

// pgURL is the address of db on the test cluster as it stands in the
// configuration: without password, with user only when given.
func pgURL(c *pgtest.Cluster, db, user string) string {
	if user != "" {
		user += "@"
	}
	return fmt.Sprintf("postgres://%s127.0.0.1:%d/%s?sslmode=disable", user, c.Port, db)
}

var pgAccounts gosync.Mutex
var pgAccountN int

// account is a login name unique in the cluster (roles belong to the
// whole cluster, the tests' databases share it).
func account(name string) string {
	pgAccounts.Lock()
	defer pgAccounts.Unlock()
	pgAccountN++
	return fmt.Sprintf("%s%d", name, pgAccountN)
}

// demoConfig starts the demo portal's mailbox (stopped when t ends) and
// writes a configuration that syncs it, with extra appended.
func demoConfig(t *testing.T, extra string) string {
	t.Helper()
	cfg, _ := demoMailbox(t, extra)
	return cfg
}

// demoMailbox is demoConfig that also returns the [imap] and [portal]
// sections, for another configuration on the same mailbox.
func demoMailbox(t *testing.T, extra string) (cfg, sections string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d, err := portaldemo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	t.Setenv("AMTSTRESEN_TEST_IMAP_PW", d.Password)
	sections = "[imap]\naddress = \"" + d.Addr + "\"\ntls = \"none\"\nusername = \"" + d.User + "\"\npassword_env = \"AMTSTRESEN_TEST_IMAP_PW\"\n[portal]\npublic_key = \"" + d.PublicKey + "\"\n"
	return writeConfig(t, sections+extra), sections
}

// TestPostgresWiring: with [database] url every command works on
// PostgreSQL, each clerk as their own database role. The first
// administrator is entered with the migration role (--db postgres://…,
// password from PGPASSWORD), the others by that administrator with
// `roles set … --password-env`; the portal sync runs as the sync's
// service account; a clerk of VG Kaisersesch lists only its cases, one of
// VG Zell only Zell's; the SQLite file's own commands say how it is done
// on PostgreSQL; a wrong or missing password is a German refusal.
func TestPostgresWiring(t *testing.T) {
	c, db := pgDatabase(t)
	admin, kaisersesch, zell := account("itadmin"), account("karin"), account("zora")

	// The first administration, entered with the migration role.
	t.Setenv("PGPASSWORD", pgMigratorPassword)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Admin-Kennwort-1")
	as(t, "wer-auch-immer")
	mustRun(t, "roles", "set", admin, "admin", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--db", pgURL(c, db, pgMigrator))
	t.Setenv("PGPASSWORD", "")

	// From here on the configuration names the database without a user:
	// each program connects as its OS account.
	cfg := writeConfig(t, "[database]\nurl = \""+pgURL(c, db, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_DBPW\"\n")
	as(t, admin)
	t.Setenv("AMTSTRESEN_TEST_DBPW", "Admin-Kennwort-1")
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Kaisersesch-Kennwort-2")
	mustRun(t, "roles", "set", kaisersesch, "clerk", "vg-kaisersesch", "--name", "Karin Kaiser", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--config", cfg)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Zell-Kennwort-3")
	mustRun(t, "roles", "set", zell, "clerk", "vg-zell", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--config", cfg)
	if out := mustRun(t, "roles", "--config", cfg); !strings.Contains(out, kaisersesch) || !strings.Contains(out, "Karin Kaiser") || !strings.Contains(out, zell) {
		t.Errorf("roles:\n%s", out)
	}

	// The portal sync as its service account (made by the IT by hand).
	sync := account("tresen_abgleich")
	if err := c.Exec(context.Background(), "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'Abgleich-4'; GRANT amtstresen_konto, amtstresen_sync TO %s", sync, sync)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AMTSTRESEN_TEST_SYNCPW", "Abgleich-4")
	syncCfg := demoConfig(t, "[database]\nurl = \""+pgURL(c, db, sync)+"\"\npassword_env = \"AMTSTRESEN_TEST_SYNCPW\"\n")
	if out := mustRun(t, "sync", "--once", "--config", syncCfg); !strings.Contains(out, "Portal-Abgleich") {
		t.Fatalf("sync:\n%s", out)
	}

	// Each clerk lists their office's cases only; the administration all.
	casesOf := func(acct, pw string) []app.CaseJSON {
		t.Helper()
		as(t, acct)
		t.Setenv("AMTSTRESEN_TEST_DBPW", pw)
		var list []app.CaseJSON
		if err := json.Unmarshal([]byte(mustRun(t, "cases", "--json", "--config", cfg)), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	all := casesOf(admin, "Admin-Kennwort-1")
	offices := map[string]int{}
	for _, c := range all {
		offices[c.Office]++
	}
	if offices["vg-kaisersesch"] == 0 || offices["vg-zell"] == 0 {
		t.Fatalf("the demo sync brought no cases of Kaisersesch and Zell: %v", offices)
	}
	for _, cl := range []struct{ acct, pw, office string }{{kaisersesch, "Kaisersesch-Kennwort-2", "vg-kaisersesch"}, {zell, "Zell-Kennwort-3", "vg-zell"}} {
		list := casesOf(cl.acct, cl.pw)
		if len(list) != offices[cl.office] {
			t.Errorf("%s lists %d cases, want the %d of %s", cl.acct, len(list), offices[cl.office], cl.office)
		}
		for _, c := range list {
			if c.Office != cl.office {
				t.Errorf("%s lists %s of %s", cl.acct, c.Ref, c.Office)
			}
		}
	}

	// The role `roles set` made is the clerk's database role: by plain SQL
	// (psql, as an IT admin would try it) it reads no Zell case and
	// changes none; what a case says it may not change at all.
	psql := func(acct, pw, q string) (string, error) {
		out, err := c.Psql(db, acct, pw, q)
		return strings.TrimSpace(out), err
	}
	if out, err := psql(kaisersesch, "Kaisersesch-Kennwort-2", "SELECT count(*) FROM amtstresen.cases WHERE office = 'vg-zell'"); err != nil || out != "0" {
		t.Errorf("psql: Zell cases for Kaisersesch: %q, %v", out, err)
	}
	if out, err := psql(kaisersesch, "Kaisersesch-Kennwort-2", "WITH u AS (UPDATE amtstresen.cases SET status = 'done' WHERE office = 'vg-zell' RETURNING 1) SELECT count(*) FROM u"); err != nil || out != "0" {
		t.Errorf("psql: UPDATE of Zell cases: %q, %v", out, err)
	}
	if out, err := psql(kaisersesch, "Kaisersesch-Kennwort-2", "UPDATE amtstresen.cases SET applicant_name = 'x'"); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("psql: UPDATE of what a case says: %q, %v", out, err)
	}
	// roles set changes the role (now Zell), roles remove revokes it: no
	// login any more, and the program says so in German.
	as(t, admin)
	t.Setenv("AMTSTRESEN_TEST_DBPW", "Admin-Kennwort-1")
	mustRun(t, "roles", "set", kaisersesch, "clerk", "vg-zell", "--config", cfg)
	if out, err := psql(kaisersesch, "Kaisersesch-Kennwort-2", "SELECT count(*) FILTER (WHERE office = 'vg-zell') || '/' || count(*) FROM amtstresen.cases"); err != nil || out != fmt.Sprintf("%d/%d", offices["vg-zell"], offices["vg-zell"]) {
		t.Errorf("psql after moving to Zell: %q, %v (want %d/%d)", out, err, offices["vg-zell"], offices["vg-zell"])
	}
	mustRun(t, "roles", "remove", kaisersesch, "--config", cfg)
	if out, err := psql(kaisersesch, "Kaisersesch-Kennwort-2", "SELECT 1"); err == nil {
		t.Errorf("psql after roles remove: %q", out)
	}
	as(t, kaisersesch)
	t.Setenv("AMTSTRESEN_TEST_DBPW", "Kaisersesch-Kennwort-2")
	failRun(t, "abgelehnt", "cases", "--config", cfg)

	// What belongs to the SQLite file is the IT's on the server.
	as(t, admin)
	t.Setenv("AMTSTRESEN_TEST_DBPW", "Admin-Kennwort-1")
	for _, cmd := range [][]string{{"backup"}, {"check"}, {"restore", "x.db"}} {
		failRun(t, "pg_dump", append(cmd, "--config", cfg)...)
	}
	// A wrong password, and none at all.
	t.Setenv("AMTSTRESEN_TEST_DBPW", "falsch")
	failRun(t, "abgelehnt", "cases", "--config", cfg)
	t.Setenv("AMTSTRESEN_TEST_DBPW", "")
	failRun(t, "kein Kennwort hinterlegt", "cases", "--config", cfg)
}

// TestDatabaseURLRules: an address with a password, or one to another
// machine without verified TLS, is refused before anything connects; a
// file named with --db wins over [database] url.
func TestDatabaseURLRules(t *testing.T) {
	as(t, "it")
	for _, tc := range []struct{ url, want string }{
		{"postgres://mmueller:geheim@db.example.org/amtstresen?sslmode=verify-full", "enthält ein Kennwort"},
		{"postgres://db.example.org/amtstresen", "verify-full"},
		{"postgres://db1.example.org,127.0.0.1/amtstresen?sslmode=require", "verify-full"},
	} {
		cfg := writeConfig(t, "[database]\nurl = \""+tc.url+"\"\n")
		out, errOut, rc := runCmd(t, "cases", "--config", cfg)
		if rc != 1 || !strings.Contains(errOut, tc.want) || strings.Contains(out+errOut, "geheim") {
			t.Errorf("%s: rc %d\n%s%s", tc.url, rc, out, errOut)
		}
	}
	cfg := writeConfig(t, "[database]\nurl = \"postgres://db.example.org/amtstresen\"\n")
	dbPath := t.TempDir() + "/a.db"
	mustRun(t, "cases", "--db", dbPath, "--config", cfg)
}

func TestWithLogin(t *testing.T) {
	for _, tc := range []struct{ in, account, out, login string }{
		{"postgres://db/amtstresen?sslmode=verify-full", "mmueller", "postgres://mmueller@db/amtstresen?sslmode=verify-full", "mmueller"},
		{"postgres://tresen_abgleich@db1,db2/amtstresen?target_session_attrs=read-write", "mmueller", "postgres://tresen_abgleich@db1,db2/amtstresen?target_session_attrs=read-write", "tresen_abgleich"},
		{"postgresql://db:5433", "it", "postgresql://it@db:5433", "it"},
		{"postgres://db/amtstresen?user=svc", "it", "postgres://db/amtstresen?user=svc", "svc"},
	} {
		out, login := withLogin(tc.in, tc.account)
		if out != tc.out || login != tc.login {
			t.Errorf("withLogin(%q) = %q, %q; want %q, %q", tc.in, out, login, tc.out, tc.login)
		}
	}
}

// TestMigrateDB: a counter's SQLite file with a real history (a portal
// sync with attachments, messages and appointments, 150 generated cases
// worked on by clerks, appointments, review mails, roles, the audit log)
// goes into an empty PostgreSQL database with migrate-db. Afterwards the
// program lists the same cases, review mails and appointments from
// PostgreSQL as from the file, byte for byte, and the file's audit log is
// all there; run again it does nothing; another file or a database that
// holds data is refused.
func TestMigrateDB(t *testing.T) {
	c, _ := pgDatabase(t) // the cluster and its migration role
	it, ulla := account("it"), account("ulla")
	dbPath := t.TempDir() + "/tresen.db"
	as(t, it)

	// The file: the demo portal's deliveries through a real sync, then
	// generated cases, appointments and review mails, and roles.
	ctx := context.Background()
	mustRun(t, "sync", "--once", "--db", dbPath, "--config", demoConfig(t, ""))
	st, err := storage.Open(ctx, dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := seed.Fill(ctx, st, app.Default(), 150, now, nil); err != nil {
		t.Fatal(err)
	}
	if err := seed.Appointments(ctx, st, app.Default(), now); err != nil {
		t.Fatal(err)
	}
	if err := seed.ReviewItems(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	st.Close()
	mustRun(t, "roles", "set", it, "admin", "--db", dbPath)
	mustRun(t, "roles", "set", ulla, "clerk", "vg-ulmen", "--name", "Ulla Ulmer", "--db", dbPath)
	fileOut := map[string]string{}
	views := [][]string{{"cases", "--json"}, {"review", "--json", "--all"}, {"appointments", "--json"}}
	for _, v := range views {
		fileOut[v[0]] = mustRun(t, append(v, "--db", dbPath)...)
	}
	fileAudit := mustRun(t, "audit", "--csv", "--db", dbPath)

	// Into an empty database (not even the schema yet), as the migration role.
	empty := c.CreateDatabase(t, pgMigrator, "")
	to := pgURL(c, empty, pgMigrator)
	t.Setenv("AMTSTRESEN_TEST_MIGPW", pgMigratorPassword)
	out := mustRun(t, "migrate-db", "--to", to, "--password-env", "AMTSTRESEN_TEST_MIGPW", "--db", dbPath)
	for _, want := range []string{"cases", "case_docs", "blobs", "notes", "attachments", "appointments", "review_items", "mail_receipts", "sync_state", "audit_log", "outbox", "Suchindex", ulla} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-db output lacks %q:\n%s", want, out)
		}
	}
	if out := mustRun(t, "migrate-db", "--to", to, "--password-env", "AMTSTRESEN_TEST_MIGPW", "--db", dbPath); !strings.Contains(out, "nichts zu tun") {
		t.Errorf("second run:\n%s", out)
	}

	// The program on PostgreSQL shows what it showed on the file.
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "It-Kennwort-5")
	t.Setenv("PGPASSWORD", pgMigratorPassword)
	mustRun(t, "roles", "set", it, "admin", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--db", to)
	t.Setenv("PGPASSWORD", "")
	cfg := writeConfig(t, "[database]\nurl = \""+pgURL(c, empty, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_NEWPW\"\n")
	for _, v := range views {
		if got := mustRun(t, append(v, "--config", cfg)...); got != fileOut[v[0]] {
			t.Errorf("%s differs after migrate-db:\n--- file\n%.2000s\n--- PostgreSQL\n%.2000s", v[0], fileOut[v[0]], got)
		}
	}
	var list []app.CaseJSON
	if err := json.Unmarshal([]byte(fileOut["cases"]), &list); err != nil || len(list) < 150 {
		t.Fatalf("cases in the file: %d, %v", len(list), err)
	}
	pgAudit := mustRun(t, "audit", "--csv", "--config", cfg)
	lines := strings.Split(strings.TrimSpace(fileAudit), "\n")
	for _, l := range lines {
		if !strings.Contains(pgAudit, l) {
			t.Errorf("audit entry missing on PostgreSQL: %s", l)
			break
		}
	}
	if len(lines) < 300 {
		t.Errorf("the file's audit log has only %d lines", len(lines))
	}

	// Another file into the same database, and this file into a database
	// that holds data: refused, nothing copied.
	other := t.TempDir() + "/anderer.db"
	mustRun(t, "roles", "set", it, "admin", "--db", other)
	failRun(t, "andere SQLite-Datenbank", "migrate-db", "--to", to, "--password-env", "AMTSTRESEN_TEST_MIGPW", "--db", other)
	_, used := pgDatabase(t)
	conn := pgtest.Connect(t, c.SuperURL(used))
	if _, err := conn.Exec(ctx, `INSERT INTO amtstresen.audit_log (at, clerk, action) VALUES (now(), 'x', 'case.read')`); err != nil {
		t.Fatal(err)
	}
	failRun(t, "nicht leer", "migrate-db", "--to", pgURL(c, used, pgMigrator), "--password-env", "AMTSTRESEN_TEST_MIGPW", "--db", dbPath)
}

// TestPostgresOperations: the operation commands on PostgreSQL, against
// the private cluster. The audit CSV and the Art. 15 export as the
// administration (attachments included); the purge as the purge's
// service account: --dry-run lists an expired case, purge deletes it with
// its files and logs it, nightly --once records its runs; the backup and
// restore the README describes (pg_dump -Fc as the superuser, pg_restore
// into a new database) gives a database the program reads the same.
func TestPostgresOperations(t *testing.T) {
	c, db := pgDatabase(t)
	ctx := context.Background()
	admin := account("itadmin")
	t.Setenv("PGPASSWORD", pgMigratorPassword)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Admin-Kennwort-6")
	as(t, admin)
	mustRun(t, "roles", "set", admin, "admin", "--password-env", "AMTSTRESEN_TEST_NEWPW", "--db", pgURL(c, db, pgMigrator))
	t.Setenv("PGPASSWORD", "")
	sync, purger := account("abgleich"), account("loeschlauf")
	if err := c.Exec(ctx, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'Dienst-7'; GRANT amtstresen_konto, amtstresen_sync TO %s; CREATE ROLE %s LOGIN PASSWORD 'Dienst-7'; GRANT amtstresen_konto, amtstresen_purge TO %s",
		sync, sync, purger, purger)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AMTSTRESEN_TEST_SVCPW", "Dienst-7")
	syncCfg, mailbox := demoMailbox(t, "[database]\nurl = \""+pgURL(c, db, sync)+"\"\npassword_env = \"AMTSTRESEN_TEST_SVCPW\"\n")
	mustRun(t, "sync", "--once", "--config", syncCfg)
	cfg := writeConfig(t, "[database]\nurl = \""+pgURL(c, db, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_NEWPW\"\n")
	super := pgtest.Connect(t, c.SuperURL(db))

	// The audit log as CSV, for the data protection officer.
	csvPath := t.TempDir() + "/protokoll.csv"
	mustRun(t, "audit", "--csv", "-o", csvPath, "--config", cfg)
	b, err := os.ReadFile(csvPath)
	if err != nil || !strings.HasPrefix(string(b), "zeit,sachbearbeitung,dienststelle,aktion,bezug,detail") || strings.Count(string(b), "case.create") < 10 {
		t.Fatalf("audit CSV (%v):\n%.500s", err, b)
	}
	if out := mustRun(t, "audit", "--action", "audit.export", "--config", cfg); !strings.Contains(out, admin) {
		t.Errorf("the export is not logged:\n%s", out)
	}

	// Art. 15: a person with an attachment, by e-mail address.
	var email, ref string
	if err := super.QueryRow(ctx, `SELECT c.email, c.ref FROM amtstresen.cases c JOIN amtstresen.attachments a ON a.case_id = c.id
		WHERE c.email <> '' AND a.blob IS NOT NULL ORDER BY c.id LIMIT 1`).Scan(&email, &ref); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/auskunft"
	out := mustRun(t, "export-person", "--email", email, "-o", dir, "--config", cfg)
	if !strings.Contains(out, "Auskunft:") {
		t.Errorf("export-person:\n%s", out)
	}
	for _, f := range []string{"Auskunft.pdf", "Auskunft.json"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("Art. 15 export: %v", err)
		}
	}
	if files, _ := os.ReadDir(dir + "/anlagen"); len(files) == 0 {
		t.Error("Art. 15 export without the attachments")
	}
	if js, _ := os.ReadFile(dir + "/Auskunft.json"); !strings.Contains(string(js), ref) {
		t.Errorf("Auskunft.json does not name %s", ref)
	}

	// The backup as the README says, taken before the purge.
	dump := t.TempDir() + "/amtstresen.dump"
	if out, err := exec.Command(pgtest.BinDir+"/pg_dump", "-h", c.SocketDir, "-p", fmt.Sprint(c.Port), "-U", "postgres", "-Fc", "-f", dump, db).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	before := mustRun(t, "cases", "--json", "--config", cfg)

	// Files no attachment refers to (mails that were only kept for review).
	orphans := count(t, super, `SELECT count(*) FROM amtstresen.blobs b WHERE NOT EXISTS (SELECT 1 FROM amtstresen.attachments a WHERE a.blob = b.sha256)`)
	// The purge, as its service account: the case closed eleven years ago.
	if _, err := super.Exec(ctx, `UPDATE amtstresen.cases SET status = 'done', closed_at = now() - interval '11 years' WHERE ref = $1`, ref); err != nil {
		t.Fatal(err)
	}
	as(t, purger)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Dienst-7")
	if out := mustRun(t, "purge", "--dry-run", "--config", cfg); !strings.Contains(out, ref) {
		t.Fatalf("purge --dry-run does not list %s:\n%s", ref, out)
	}
	// The purge's configuration names the portal's mailbox too: the
	// case's mail is removed from the server as well.
	purgeCfg := writeConfig(t, mailbox+"[database]\nurl = \""+pgURL(c, db, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_NEWPW\"\n")
	if out := mustRun(t, "purge", "--config", purgeCfg); !strings.Contains(out, ref) || !strings.Contains(out, "Postfach: ") || strings.Contains(out, "Postfach: 0 ") {
		t.Fatalf("purge:\n%s", out)
	}
	if n := count(t, super, `SELECT count(*) FROM amtstresen.mail_purges`); n != 0 {
		t.Errorf("%d server copies still queued after the purge", n)
	}
	var cases, search, blobs int
	if err := super.QueryRow(ctx, `SELECT (SELECT count(*) FROM amtstresen.cases WHERE ref = $1), (SELECT count(*) FROM amtstresen.case_search s
		WHERE NOT EXISTS (SELECT 1 FROM amtstresen.cases c WHERE c.id = s.case_id)), (SELECT count(*) FROM amtstresen.blobs b
		WHERE NOT EXISTS (SELECT 1 FROM amtstresen.attachments a WHERE a.blob = b.sha256))`, ref).Scan(&cases, &search, &blobs); err != nil || cases+search+blobs != orphans {
		t.Errorf("after the purge of %s: %d cases, %d search rows, %d files without attachment (before: %d) (%v)", ref, cases, search, blobs, orphans, err)
	}
	if n := count(t, super, `SELECT count(*) FROM amtstresen.audit_log WHERE action = 'case.purge' AND ref = $1`, ref); n != 1 {
		t.Errorf("case.purge logged %d times", n)
	}
	if out := mustRun(t, "nightly", "--once", "--config", purgeCfg); strings.Contains(out, "Sicherung geschrieben") {
		t.Errorf("nightly on PostgreSQL wrote a file backup:\n%s", out)
	}
	for _, job := range []string{"purge", "nightly"} {
		if n := count(t, super, `SELECT count(*) FROM amtstresen.maintenance_runs WHERE job = $1 AND last_error = ''`, job); n != 1 {
			t.Errorf("run of %s not recorded", job)
		}
	}

	// The restore into a new database: the program reads the state of
	// the backup (the purged case is back, for the next purge to delete).
	restored := c.CreateDatabase(t, pgMigrator, "")
	if out, err := exec.Command(pgtest.BinDir+"/pg_restore", "-h", c.SocketDir, "-p", fmt.Sprint(c.Port), "-U", "postgres", "-d", restored, "--exit-on-error", dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	as(t, admin)
	t.Setenv("AMTSTRESEN_TEST_NEWPW", "Admin-Kennwort-6")
	rcfg := writeConfig(t, "[database]\nurl = \""+pgURL(c, restored, "")+"\"\npassword_env = \"AMTSTRESEN_TEST_NEWPW\"\n")
	if after := mustRun(t, "cases", "--json", "--config", rcfg); after != before {
		t.Errorf("the restored database lists other cases:\n%.1000s\n---\n%.1000s", before, after)
	}
}

// count runs a count(*) query.
func count(t *testing.T, q *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := q.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// upgrade-db brings a database to this program's schema as the migration
// role (after an update the counters refuse the older schema and say to
// ask the IT), and says so; run again it does nothing. (Migrate from an
// old schema with data: storage/postgres TestUpgradeFromV1.)
func TestUpgradeDB(t *testing.T) {
	c, _ := pgDatabase(t)
	empty := c.CreateDatabase(t, pgMigrator, "")
	url := pgURL(c, empty, pgMigrator)
	t.Setenv("AMTSTRESEN_TEST_MIGPW", pgMigratorPassword)

	if _, errOut, rc := runCmd(t, "upgrade-db", "--db", t.TempDir()+"/tresen.db"); rc != 2 || !strings.Contains(errOut, "Aufruf: amtstresen --db postgres://") {
		t.Errorf("a SQLite file: rc %d, %s", rc, errOut)
	}
	out := mustRun(t, "upgrade-db", "--db", url, "--password-env", "AMTSTRESEN_TEST_MIGPW")
	if want := fmt.Sprintf("jetzt Schema %d (vorher 0)", postgres.SchemaVersion); !strings.Contains(out, want) {
		t.Errorf("first run: want %q in\n%s", want, out)
	}
	if strings.Contains(out, pgMigratorPassword) {
		t.Error("the output shows the password")
	}
	conn := pgtest.Connect(t, c.URL(empty, pgMigrator, pgMigratorPassword))
	if err := postgres.CheckSchema(context.Background(), conn); err != nil {
		t.Fatalf("after upgrade-db: %v", err)
	}
	if out := mustRun(t, "upgrade-db", "--db", url, "--password-env", "AMTSTRESEN_TEST_MIGPW"); !strings.Contains(out, "nichts zu tun") {
		t.Errorf("second run:\n%s", out)
	}
}
