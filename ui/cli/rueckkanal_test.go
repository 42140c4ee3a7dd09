package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtstresen/app"
	"amtstresen/sync/rueckkanal"
)

// TestOfficeKeyCommand: an administrator creates the key of VG Cochem
// into the [[office]] key_file (mode 0600); the command prints the public
// key, never the private one; it never overwrites a key; show prints the
// same public key; a clerk may do neither; a key file others can read is
// refused.
func TestOfficeKeyCommand(t *testing.T) {
	emptyHome(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "vg-cochem.key")
	cfg := writeConfig(t, "[[office]]\ndienststelle = \"vg-cochem\"\nkey_file = \""+keyFile+"\"\n")
	dbPath := filepath.Join(dir, "a.db")
	as(t, "it")
	mustRun(t, "roles", "set", "it", "admin", "--db", dbPath)
	mustRun(t, "roles", "set", "klerk", "clerk", "vg-cochem", "--db", dbPath)

	out, errOut, rc := runCmd(t, "office-key", "create", "vg-cochem", "--db", dbPath, "--config", cfg)
	if rc != 0 {
		t.Fatalf("create: rc %d\n%s%s", rc, out, errOut)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi)
	}
	k, err := rueckkanal.LoadOfficeKey(rueckkanal.OfficeConfig{Dienststelle: app.OfficeCochem, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := os.ReadFile(keyFile)
	if !strings.Contains(out, k.PublicBase64()) || !strings.Contains(out, "Portalbetreiber") {
		t.Errorf("create does not print the public key:\n%s", out)
	}
	if s := strings.TrimSpace(string(priv)); strings.Contains(out+errOut, s) || strings.Contains(out+errOut, s[:20]) {
		t.Error("create printed the private key")
	}
	failRun(t, "nicht überschrieben", "office-key", "create", "vg-cochem", "--db", dbPath, "--config", cfg)
	if again, _ := os.ReadFile(keyFile); string(again) != string(priv) {
		t.Error("the key was replaced")
	}
	out = mustRun(t, "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
	if !strings.Contains(out, k.PublicBase64()) || strings.Contains(out, strings.TrimSpace(string(priv))) {
		t.Errorf("show:\n%s", out)
	}

	as(t, "klerk")
	failRun(t, "nicht erlaubt", "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
	as(t, "it")
	if out, errOut, rc := runCmd(t, "office-key", "create", "vg-mayen", "--db", dbPath, "--config", cfg); rc != 2 || !strings.Contains(errOut, "Unbekannte Dienststelle") {
		t.Errorf("unknown office: rc %d\n%s%s", rc, out, errOut)
	}
	os.Chmod(keyFile, 0o644)
	failRun(t, "für andere lesbar", "office-key", "show", "vg-cochem", "--db", dbPath, "--config", cfg)
}
