package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
	portaldemo "amtstresen/sync/demo"
)

// as runs the commands as OS account acct.
func as(t *testing.T, acct string) {
	t.Helper()
	old := accountName
	accountName = func() string { return acct }
	t.Cleanup(func() { accountName = old })
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, rc := runCmd(t, args...)
	if rc != 0 {
		t.Fatalf("%v: rc %d\n%s%s", args, rc, out, errOut)
	}
	return out
}

func failRun(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errOut, rc := runCmd(t, args...)
	if rc != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("%v: rc %d, want 1 with %q\n%s%s", args, rc, want, out, errOut)
	}
}

// rawExec changes the database behind the program's back (to age a case).
func rawExec(t *testing.T, dbPath, q string, args ...any) {
	t.Helper()
	c, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRolesAndAccessCommands: the first role must be an administrator; a
// clerk of VG Ulmen can neither confirm, list nor export a VG Zell case
// from the command line, nor purge, read the log or hand out roles; an
// account without a role is refused with the command that fixes it.
func TestRolesAndAccessCommands(t *testing.T) {
	dbPath, ref := confirmEnv(t) // a case of VG Zell
	as(t, "erst")
	failRun(t, "zuerst eine Administration", "roles", "set", "uklerk", "clerk", "vg-ulmen", "--db", dbPath)
	mustRun(t, "roles", "set", "it", "admin", "--db", dbPath)
	failRun(t, "nicht freigeschaltet", "cases", "--db", dbPath) // "erst" has no role any more
	as(t, "it")
	mustRun(t, "roles", "set", "UKlerk", "clerk", "vg-ulmen", "--name", "Ulla Ulmer", "--db", dbPath)
	mustRun(t, "roles", "set", "zleitung", "lead", "vg-zell", "--db", dbPath)
	if out := mustRun(t, "roles", "--db", dbPath); !strings.Contains(out, "uklerk") || !strings.Contains(out, "Sachbearbeitung") {
		t.Errorf("roles list:\n%s", out)
	}

	as(t, "uklerk")
	pdfOut := filepath.Join(t.TempDir(), "x.pdf")
	failRun(t, "gehört nicht zu Ihrer Dienststelle", "confirm", ref, "-o", pdfOut, "--db", dbPath)
	if _, err := os.Stat(pdfOut); err == nil {
		t.Error("a PDF of a Zell case was written for Ulmen")
	}
	if out := mustRun(t, "cases", "--json", "--db", dbPath); strings.TrimSpace(out) != "[]" {
		t.Errorf("Ulmen lists: %s", out)
	}
	failRun(t, "Rolle nicht erlaubt", "roles", "set", "uklerk", "admin", "--db", dbPath)
	failRun(t, "Rolle nicht erlaubt", "purge", "--dry-run", "--db", dbPath)
	failRun(t, "Rolle nicht erlaubt", "audit", "--db", dbPath)
	failRun(t, "Rolle nicht erlaubt", "export-person", "--name", "Jördis Weißmüller", "--geburtsdatum", "01.01.1980", "--db", dbPath)

	// The log shows the refusal, by reference; the lead of Zell reads it.
	as(t, "zleitung")
	failRun(t, "Rolle nicht erlaubt", "roles", "--db", dbPath)
	as(t, "it")
	out := mustRun(t, "audit", "--ref", ref, "--db", dbPath)
	if !strings.Contains(out, "uklerk") || !strings.Contains(out, "case.read.denied") {
		t.Errorf("audit of %s:\n%s", ref, out)
	}
	out = mustRun(t, "audit", "--ref", "uklerk", "--action", "role.", "--db", dbPath)
	if !strings.Contains(out, "role.set") || !strings.Contains(out, "clerk@vg-ulmen") {
		t.Errorf("role changes not audited:\n%s", out)
	}
}

// TestPurgeCommand: --dry-run lists an expired case and deletes nothing;
// purge deletes it for good (no byte of its marker left in the files) and
// logs the deletion by reference.
func TestPurgeCommand(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	as(t, "it")
	const marker = "Qvxpurgemarker7731"
	rawExec(t, dbPath, `UPDATE case_docs SET fields = json_set(fields, '$.hund.farbe', ?)`, marker)
	rawExec(t, dbPath, `UPDATE cases SET status = 'done', closed_at = ?`, time.Now().UTC().AddDate(-11, 0, 0).Format("2006-01-02T15:04:05.000000000Z"))
	cfg := writeConfig(t, "[audit]\nretention_months = 12\n")

	out := mustRun(t, "purge", "--dry-run", "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, "Probelauf") || !strings.Contains(out, ref) || !strings.Contains(out, "1 Vorgänge") {
		t.Fatalf("dry run:\n%s", out)
	}
	if b, _ := os.ReadFile(dbPath); !bytes.Contains(b, []byte(marker)) {
		t.Fatal("the dry run deleted, or the marker never reached the file")
	}
	out = mustRun(t, "purge", "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, ref) || !strings.Contains(out, "1 Vorgänge") {
		t.Fatalf("purge:\n%s", out)
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		if b, err := os.ReadFile(dbPath + s); err == nil && bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(marker))) {
			t.Errorf("marker left in %s", filepath.Base(dbPath+s))
		}
	}
	failRun(t, "nicht gefunden", "confirm", ref, "-o", filepath.Join(t.TempDir(), "x.pdf"), "--db", dbPath)
	if out := mustRun(t, "audit", "--ref", ref, "--action", "case.purge", "--db", dbPath); !strings.Contains(out, "service=hund-anmelden") {
		t.Errorf("deletion not logged:\n%s", out)
	}
}

// TestBackupRestoreCheckCommands: backup writes a 0600 file into [backup]
// dir; a damaged database fails `check` with the restore command naming
// that backup; `restore` brings the backup back and keeps the damaged
// file aside.
func TestBackupRestoreCheckCommands(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	as(t, "it")
	dir := filepath.Join(t.TempDir(), "sicherungen")
	cfg := writeConfig(t, "[backup]\ndir = \""+dir+"\"\ndaily = 2\nweekly = 1\n")
	out := mustRun(t, "backup", "--db", dbPath, "--config", cfg)
	backups := storage.Backups(dir, dbPath)
	if len(backups) != 1 || !strings.Contains(out, backups[0]) {
		t.Fatalf("backup: %v\n%s", backups, out)
	}
	if st, _ := os.Stat(backups[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v", st.Mode().Perm())
	}
	if out := mustRun(t, "check", "--full", "--db", dbPath, "--config", cfg); !strings.Contains(out, "in Ordnung") || !strings.Contains(out, backups[0]) {
		t.Errorf("check:\n%s", out)
	}

	// Damage the database: enough pages, then garbage in the middle.
	db, err := storage.Open(context.Background(), dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	filler := strings.Repeat("Füllstoff ", 2000)
	for i := 0; i < 40; i++ {
		db.Audit(context.Background(), app.AuditEntry{Clerk: "it", Action: "test.fill", Detail: filler})
	}
	db.Close()
	b, _ := os.ReadFile(dbPath)
	for i := 6 * 4096; i < 7*4096; i++ {
		b[i] ^= 0x5a
	}
	os.WriteFile(dbPath, b, 0o600)
	_, errOut, rc := runCmd(t, "check", "--db", dbPath, "--config", cfg)
	if rc != 1 || !strings.Contains(errOut, "beschädigt") || !strings.Contains(errOut, "amtstresen restore \""+backups[0]+"\"") {
		t.Fatalf("check of a damaged file: rc %d\n%s", rc, errOut)
	}
	out = mustRun(t, "restore", backups[0], "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, "vorherige Stand liegt unter") {
		t.Errorf("restore:\n%s", out)
	}
	mustRun(t, "check", "--full", "--db", dbPath, "--config", cfg)
	if out := mustRun(t, "cases", "--json", "--db", dbPath); !strings.Contains(out, ref) {
		t.Errorf("restored database lacks %s:\n%s", ref, out)
	}
	aside, _ := filepath.Glob(dbPath + ".vor-wiederherstellung-*")
	if len(aside) == 0 {
		t.Error("damaged file not kept aside")
	}
}

// TestExportPersonCommand: the Art. 15 answer as a readable PDF and as
// JSON, with the files; all readable by the owner only; the export is in
// the log by reference.
func TestExportPersonCommand(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	as(t, "it")
	rawExec(t, dbPath, `UPDATE cases SET birthdate = '1980-02-29'`)
	rawExec(t, dbPath, `UPDATE case_docs SET applicant = json_set(applicant, '$.geburtsdatum', '1980-02-29')`)
	// A field the catalog does not know belongs to the answer too.
	rawExec(t, dbPath, `UPDATE case_docs SET fields = json_set(fields, '$.zusatz.bemerkung', 'Hund ist taub')`)
	dir := filepath.Join(t.TempDir(), "auskunft")
	out := mustRun(t, "export-person", "--name", "weissmüller jördis", "--geburtsdatum", "29.02.1980", "-o", dir, "--db", dbPath)
	if !strings.Contains(out, "1 Vorgänge") {
		t.Fatalf("export:\n%s", out)
	}
	txt := pdfText(t, filepath.Join(dir, "Auskunft.pdf"))
	for _, want := range []string{"Art. 15 DSGVO", ref, "Jördis Weißmüller", "Großer Münsterländer", "276098100123456", "120 Monate nach Abschluss", "impfpass.jpg", "zusatz.bemerkung", "Hund ist taub"} {
		if !strings.Contains(txt, want) {
			t.Errorf("PDF lacks %q:\n%s", want, txt)
		}
	}
	var j app.PersonJSON
	b, err := os.ReadFile(filepath.Join(dir, "Auskunft.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Cases) != 1 || j.Cases[0].Ref != ref || j.Cases[0].Applicant.LastName != "Weißmüller" || !strings.Contains(string(j.Cases[0].Fields), "Bärbel") {
		t.Errorf("JSON: %+v", j.Cases)
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", p, info.Mode().Perm())
		}
		return nil
	})
	if out := mustRun(t, "audit", "--ref", ref, "--db", dbPath); !strings.Contains(out, "case.export") {
		t.Errorf("export not logged:\n%s", out)
	}
	failRun(t, "Ein Name allein genügt nicht", "export-person", "--name", "Jördis Weißmüller", "--db", dbPath)
}

// TestAuditCSVCommand: the CSV export for the data-protection officer has
// a header and one line per entry with codes only (no names, no field
// contents), and is itself logged.
func TestAuditCSVCommand(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	as(t, "it")
	mustRun(t, "confirm", ref, "-o", filepath.Join(t.TempDir(), "a.pdf"), "--db", dbPath)
	file := filepath.Join(t.TempDir(), "protokoll.csv")
	mustRun(t, "audit", "--csv", "-o", file, "--db", dbPath)
	st, _ := os.Stat(file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("CSV mode %v", st.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "zeit,sachbearbeitung,dienststelle,aktion,bezug,detail" || len(rows) < 4 {
		t.Fatalf("CSV:\n%s", b)
	}
	for _, bad := range []string{"Weißmüller", "Jördis", "Bärbel", "Schloßstraße"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("CSV contains personal data %q", bad)
		}
	}
	if out := mustRun(t, "audit", "--action", "audit.export", "--db", dbPath); !strings.Contains(out, "it") {
		t.Errorf("CSV export not logged:\n%s", out)
	}
}

// TestPasswordNeverStoredOrLogged: the IMAP password comes from the
// environment; after a sync that succeeds and one that fails with a wrong
// password it is in no output, no log line and no byte of the database
// files or the configuration.
func TestPasswordNeverStoredOrLogged(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	as(t, "it")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := portaldemo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	t.Setenv("AMTSTRESEN_TEST_IMAP_PW", d.Password)
	cfg := writeConfig(t, "[imap]\naddress = \""+d.Addr+"\"\ntls = \"none\"\nusername = \""+d.User+"\"\npassword_env = \"AMTSTRESEN_TEST_IMAP_PW\"\n[portal]\npublic_key = \""+d.PublicKey+"\"\n")
	var outs []string
	out, errOut, rc := runCmd(t, "sync", "--once", "--db", dbPath, "--config", cfg)
	if rc != 0 {
		t.Fatalf("sync: rc %d\n%s%s", rc, out, errOut)
	}
	outs = append(outs, out, errOut)
	wrong := "Falsch-" + d.Password
	t.Setenv("AMTSTRESEN_TEST_IMAP_PW", wrong)
	out, errOut, rc = runCmd(t, "sync", "--once", "--db", dbPath, "--config", cfg)
	if rc == 0 {
		t.Fatal("sync with a wrong password succeeded")
	}
	outs = append(outs, out, errOut)
	for _, pw := range []string{d.Password, wrong} {
		for _, o := range outs {
			if strings.Contains(o, pw) {
				t.Errorf("output contains the password:\n%s", o)
			}
		}
		for _, p := range []string{dbPath, dbPath + "-wal", dbPath + "-shm", cfg} {
			if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s contains the password", filepath.Base(p))
			}
		}
	}
	// And the cases came in: the check above looked at a used database.
	if out := mustRun(t, "cases", "--db", dbPath); strings.Count(out, "\n") < 10 {
		t.Errorf("sync took in too little:\n%s", out)
	}
}

// TestNightlyOnce: the nightly job purges first, then writes a backup that
// no longer holds the expired case, and records both runs.
func TestNightlyOnce(t *testing.T) {
	dbPath, ref := confirmEnv(t)
	as(t, "it")
	rawExec(t, dbPath, `UPDATE cases SET status = 'done', closed_at = ?`, time.Now().UTC().AddDate(-11, 0, 0).Format("2006-01-02T15:04:05.000000000Z"))
	dir := filepath.Join(t.TempDir(), "sicherungen")
	cfg := writeConfig(t, "[backup]\ndir = \""+dir+"\"\n")
	out := mustRun(t, "nightly", "--once", "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, ref) || !strings.Contains(out, "Sicherung geschrieben") {
		t.Fatalf("nightly:\n%s", out)
	}
	b := storage.Backups(dir, dbPath)
	if len(b) != 1 {
		t.Fatalf("backups %v", b)
	}
	data, _ := os.ReadFile(b[0])
	if bytes.Contains(data, []byte("Weißmüller")) || bytes.Contains(data, []byte("Bärbel")) {
		t.Error("the backup after the purge still holds the expired case")
	}
	db, err := storage.Open(context.Background(), dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, job := range []string{"purge", "backup", "nightly"} {
		if r, err := db.LastRun(context.Background(), job); err != nil || r == nil || r.Error != "" {
			t.Errorf("run %s: %+v %v", job, r, err)
		}
	}
}
