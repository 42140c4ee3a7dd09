package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	portaldemo "amtstresen/sync/demo"
)

// The journal command against the in-process demo mailbox (MOVE and
// UIDPLUS like Dovecot): two counters with their own databases take the
// same 50 deliveries through the journal and show the same cases; the
// secret is required and never accepted in the file.
func TestJournalCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AMTSTRESEN_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("AMTSTRESEN_CONFIG_DIR", filepath.Join(dir, "config"))
	t.Setenv("AMTSTRESEN_DB", "")
	d, err := portaldemo.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	conf := func(name, extra string) string {
		p := filepath.Join(dir, name+".toml")
		s := fmt.Sprintf("[imap]\naddress = %q\ntls = \"none\"\nusername = %q\npassword_env = %q\n\n[portal]\npublic_key = %q\n\n[journal]\nenabled = true\ncounter = %q\nsecret_env = \"AMTSTRESEN_TEST_JOURNAL_SECRET\"\n%s",
			d.Addr, d.User, portaldemo.PasswordEnv, d.PublicKey, name, extra)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := conf("tresen-1", ""), conf("tresen-2", "")
	adb, bdb := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")

	// Without the secret nothing is shared.
	_, errOut, rc := runCmd(t, "journal", "--sync", "--db", adb, "--config", a)
	if rc != 1 || !strings.Contains(errOut, "Journal-Geheimnis des Amts fehlt") {
		t.Fatalf("without secret: rc %d %q", rc, errOut)
	}
	t.Setenv("AMTSTRESEN_TEST_JOURNAL_SECRET", "ein-langes-gemeinsames-geheimnis")
	out, errOut, rc := runCmd(t, "journal", "--sync", "--db", adb, "--config", a)
	if rc != 0 || !strings.Contains(out, "Abgleich mit dem Journal: Portal:") {
		t.Fatalf("sync a: rc %d %q %q", rc, out, errOut)
	}
	if out, errOut, rc = runCmd(t, "sync", "--once", "--db", bdb, "--config", b); rc != 0 {
		t.Fatalf("sync b: rc %d %q %q", rc, out, errOut)
	}
	out, _, rc = runCmd(t, "journal", "--json", "--db", bdb, "--config", b)
	var st journalStatusJSON
	if err := json.Unmarshal([]byte(out), &st); rc != 0 || err != nil {
		t.Fatalf("journal --json: %v %q", err, out)
	}
	if !st.Enabled || st.Counter != "tresen-2" || st.Mailbox != "Amtstresen/Journal" || st.LastUID != uint32(d.Mails) || len(st.Pending) != 0 {
		t.Errorf("status %+v", st)
	}
	ca, _, _ := runCmd(t, "cases", "--json", "--db", adb, "--config", a)
	cb, _, _ := runCmd(t, "cases", "--json", "--db", bdb, "--config", b)
	if ca != cb || strings.Count(ca, `"ref"`) < 10 {
		t.Errorf("the two counters differ or are empty:\n%s\n---\n%s", ca, cb)
	}
	text, _, _ := runCmd(t, "journal", "--db", bdb, "--config", b)
	if !strings.Contains(text, "Gelesen bis UID 50") || !strings.Contains(text, "Arbeitsplatz „tresen-2“") {
		t.Errorf("status text %q", text)
	}
	// The secret never in the file.
	bad := conf("tresen-3", "secret = \"steht-in-der-datei-123\"\n")
	if _, errOut, rc := runCmd(t, "journal", "--db", bdb, "--config", bad); rc != 1 || !strings.Contains(errOut, "journal.secret") {
		t.Errorf("secret in file: rc %d %q", rc, errOut)
	}
}
