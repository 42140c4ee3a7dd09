package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amtstresen/app"
	"amtstresen/storage"
)

// emptyHome points every folder of the program at a new temporary one and
// returns it, so that a test sees what a command creates.
func emptyHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("AMTSTRESEN_DATA_DIR", "")
	t.Setenv("AMTSTRESEN_CONFIG_DIR", "")
	t.Setenv("AMTSTRESEN_DB", "")
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	return dir
}

func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// Issue 13, point 20: --help and -h print the help (German), rc 0, need no
// display and create nothing. Before, they opened the window (without a
// display: a GLFW panic, rc 2) and created the default database.
func TestHelpCreatesNothing(t *testing.T) {
	home := emptyHome(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"--db", "x.db", "--help"}} {
		out, errOut, rc := runCmd(t, args...)
		if rc != 0 || !strings.Contains(out, "Aufruf: amtstresen") || !strings.Contains(out, "Befehle:") || errOut != "" {
			t.Errorf("%v: rc %d\n%s%s", args, rc, out, errOut)
		}
	}
	if got := filesUnder(t, home); len(got) > 0 {
		t.Errorf("help created %v", got)
	}
	if _, err := os.Stat("x.db"); err == nil {
		os.Remove("x.db")
		t.Error("help created x.db")
	}
}

// Issue 13, point 21: every command has a German usage of its own, for
// "BEFEHL --help" and "help BEFEHL"; nothing of Go's flag package's
// English reaches the admin; a wrong option says so in German (rc 2).
func TestCommandHelpGerman(t *testing.T) {
	home := emptyHome(t)
	for name := range commands {
		for _, args := range [][]string{{name, "--help"}, {"help", name}, {name, "-h"}} {
			out, errOut, rc := runCmd(t, args...)
			if rc != 0 || errOut != "" {
				t.Errorf("%v: rc %d, stderr %q", args, rc, errOut)
			}
			want := "Aufruf: amtstresen " + name
			if name == "gui" {
				want = "Aufruf: amtstresen [BEFEHL]"
			}
			if !strings.Contains(out, want) {
				t.Errorf("%v: no %q in\n%s", args, want, out)
			}
			for _, en := range []string{"Usage of", "help requested", "default"} {
				if strings.Contains(out, en) {
					t.Errorf("%v: English %q in\n%s", args, en, out)
				}
			}
		}
	}
	out, _, _ := runCmd(t, "cases", "--help")
	if !strings.Contains(out, "--json") || !strings.Contains(out, "als JSON ausgeben") || !strings.Contains(out, "Vorgänge ausgeben") {
		t.Errorf("cases --help:\n%s", out)
	}
	out, _, _ = runCmd(t, "confirm", "--help")
	if !strings.Contains(out, "(Standard: auto)") {
		t.Errorf("confirm --help shows no default:\n%s", out)
	}
	if got := filesUnder(t, home); len(got) > 0 {
		t.Errorf("help created %v", got)
	}
	_, errOut, rc := runCmd(t, "cases", "--jsn")
	if rc != 2 || !strings.Contains(errOut, "Unbekannte Option -jsn.") || !strings.Contains(errOut, "Aufruf: amtstresen cases") || strings.Contains(errOut, "flag provided") {
		t.Errorf("cases --jsn: rc %d\n%s", rc, errOut)
	}
}

// Issue 13, point 24: an unknown --office is a usage error (rc 2) that
// lists the valid keys; before, it listed nothing with rc 0.
func TestOfficeFlagChecked(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	for _, cmd := range []string{"appointments", "audit"} {
		out, errOut, rc := runCmd(t, cmd, "--office", "zell", "--db", dbPath)
		if rc != 2 || !strings.Contains(errOut, "Unbekannte Dienststelle „zell“") || !strings.Contains(errOut, "vg-zell") || !strings.Contains(errOut, "kreis") {
			t.Errorf("%s --office zell: rc %d\n%s%s", cmd, rc, out, errOut)
		}
	}
	if out := mustRun(t, "appointments", "--office", "kreis", "--db", dbPath); !strings.Contains(out, "kfz-zulassung") {
		t.Errorf("appointments --office kreis:\n%s", out)
	}
}

// Issue 13, point 25: the JSON outputs carry what the admin needs and
// Berlin time: review --json --all says which mails are handled,
// appointments --json the attendance, purge --json RFC 3339 with offset;
// an empty default database says where the demo's data is; a bad -o path
// is one German line.
func TestJSONOutputs(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	ctx := context.Background()
	db, err := storage.Open(ctx, dbPath, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	for i, subj := range []string{"offen", "erledigt"} {
		it := &app.ReviewItem{MessageID: "<m" + subj + "@x>", Subject: subj, From: "a@example.org", Reason: app.ReviewNotPortal,
			ReceivedAt: time.Date(2026, 11, 20+i, 9, 0, 0, 0, time.UTC), Raw: []byte("Subject: x\r\n\r\nx")}
		if err := db.AddReview(ctx, it, nil); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := db.ReviewItems(ctx, false)
	for _, it := range items {
		if it.Subject == "erledigt" {
			if err := db.ResolveReview(ctx, it.ID, "handled", "Werbung", app.Actor{Clerk: "mm"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	uid := "5d1c2f80-9a1e-4c57-8f0a-2b6f1f0c9e77@cochem-zell-online.de"
	db.Close()

	var review []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "review", "--json", "--all", "--db", dbPath)), &review); err != nil {
		t.Fatal(err)
	}
	handled := map[string]any{}
	for _, r := range review {
		handled[r["subject"].(string)] = r["handled"]
	}
	if handled["offen"] != false || handled["erledigt"] != true {
		t.Errorf("review handled fields: %v", review)
	}

	var appts []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "appointments", "--json", "--db", dbPath)), &appts); err != nil {
		t.Fatal(err)
	}
	if len(appts) != 1 || appts[0]["attendance"] != "none" || appts[0]["uid"] != uid {
		t.Errorf("appointments: %v", appts)
	}

	as(t, "it")
	rawExec(t, dbPath, `UPDATE cases SET status = 'done', closed_at = ?`, time.Now().UTC().AddDate(-11, 0, 0).Format("2006-01-02T15:04:05.000000000Z"))
	var purge map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "purge", "--json", "--dry-run", "--db", dbPath)), &purge); err != nil {
		t.Fatal(err)
	}
	berlin := func(s any) bool {
		str, _ := s.(string)
		ts, err := time.Parse(time.RFC3339, str)
		_, off := ts.Zone()
		return err == nil && !strings.Contains(str, ".") && (off == 3600 || off == 7200)
	}
	cases, _ := purge["cases"].([]any)
	if len(cases) != 1 || !berlin(cases[0].(map[string]any)["since"]) || !berlin(cases[0].(map[string]any)["expired"]) || !berlin(purge["audit_before"]) {
		t.Errorf("purge --json not in Berlin time: %v", purge)
	}

	_, errOut, rc := runCmd(t, "audit", "-o", "/nonexistent-dir/x.csv", "--db", dbPath)
	if rc != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "den Ordner gibt es nicht") {
		t.Errorf("audit -o into a missing folder: rc %d\n%s", rc, errOut)
	}
	_, errOut, rc = runCmd(t, "confirm", "--appointment", uid, "-o", "/nonexistent-dir/x.pdf", "--db", dbPath)
	if rc != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "den Ordner gibt es nicht") {
		t.Errorf("confirm -o into a missing folder: rc %d\n%s", rc, errOut)
	}
}

// Issue 13, point 25: `cases` on an empty default database points to the
// demo's database instead of printing nothing.
func TestCasesHintsAtDemo(t *testing.T) {
	home := emptyHome(t)
	data := filepath.Join(home, ".local", "share", "amtstresen")
	demo, err := storage.Open(context.Background(), filepath.Join(data, "demo.db"), app.Default())
	if err != nil {
		t.Fatal(err)
	}
	demo.Close()
	out, errOut, rc := runCmd(t, "cases", "--json")
	if rc != 0 || strings.TrimSpace(out) != "[]" || !strings.Contains(errOut, "demo.db") || !strings.Contains(errOut, "--db") {
		t.Errorf("cases --json on the empty default database: rc %d\n%s\n%s", rc, out, errOut)
	}
}

// Issue 13, point 22: backups are named after their database; `check`
// names the newest of its own database, not another's; restore refuses
// another database's backup without --force.
func TestBackupsNamedPerDatabase(t *testing.T) {
	dbPath, _ := confirmEnv(t)
	as(t, "it")
	dir := filepath.Join(t.TempDir(), "sicherungen")
	cfg := writeConfig(t, "[backup]\ndir = \""+dir+"\"\n")
	demo := filepath.Join(filepath.Dir(dbPath), "demo.db")
	mustRun(t, "backup", "--db", dbPath, "--config", cfg)
	time.Sleep(1100 * time.Millisecond) // the demo's backup is the newest file of the folder
	mustRun(t, "backup", "--db", demo, "--config", cfg)
	mine := storage.Backups(dir, dbPath)
	theirs := storage.Backups(dir, demo)
	if len(mine) != 1 || len(theirs) != 1 || !strings.HasPrefix(filepath.Base(theirs[0]), "demo-") {
		t.Fatalf("backups %v / %v", mine, theirs)
	}
	if out := mustRun(t, "check", "--db", dbPath, "--config", cfg); !strings.Contains(out, mine[0]) || strings.Contains(out, "demo-") {
		t.Errorf("check names:\n%s", out)
	}
	_, errOut, rc := runCmd(t, "restore", theirs[0], "--db", dbPath, "--config", cfg)
	if rc != 1 || !strings.Contains(errOut, "anderen Datenbank") || !strings.Contains(errOut, "--force") {
		t.Errorf("restore of the demo's backup: rc %d\n%s", rc, errOut)
	}
	mustRun(t, "restore", theirs[0], "--force", "--db", dbPath, "--config", cfg)
}

// --db and --config may stand before the command's name: "amtstresen --db
// X cases --json" lists X's cases; it must not open the window (which,
// without a display, panicked in GLFW) or touch the default database.
func TestGlobalFlagsBeforeCommand(t *testing.T) {
	home := emptyHome(t)
	db := filepath.Join(t.TempDir(), "probe.db")
	st, err := storage.Open(context.Background(), db, app.Default())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{
		{"--db", db, "cases", "--json"},
		{"--db=" + db, "cases", "--json"},
		{"cases", "--db", db, "--json"},
	} {
		out, errOut, rc := runCmd(t, args...)
		if rc != 0 || strings.TrimSpace(out) != "[]" || !strings.Contains(errOut, "Keine Vorgänge in "+db) {
			t.Errorf("%v: rc %d\n%s\n%s", args, rc, out, errOut)
		}
	}
	if got := filesUnder(t, home); len(got) > 0 {
		t.Errorf("the default database was touched: %v", got)
	}
}

// Without a display the window says so in German and creates nothing; an
// admin on an SSH session got a GLFW panic and a new default database.
func TestWindowWithoutDisplay(t *testing.T) {
	home := emptyHome(t) // DISPLAY and WAYLAND_DISPLAY empty
	for _, args := range [][]string{nil, {"gui"}, {"demo"}} {
		_, errOut, rc := runCmd(t, args...)
		if rc != 1 || !strings.Contains(errOut, "Kein Bildschirm") || !strings.Contains(errOut, "sync --once") {
			t.Errorf("%v: rc %d\n%s", args, rc, errOut)
		}
	}
	if got := filesUnder(t, home); len(got) > 0 {
		t.Errorf("created %v", got)
	}
}
