package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigNeverHoldsSecrets: a password under any key name or section is
// refused, and no error message (neither the clerk's nor the technical
// one) repeats the secret, not even when the line is broken TOML.
func TestConfigNeverHoldsSecrets(t *testing.T) {
	const secret = "Geheim-4711-Sonne"
	p := filepath.Join(t.TempDir(), "config.toml")
	for _, body := range []string{
		"[imap]\naddress = \"m:993\"\npassword = \"" + secret + "\"\n",
		"[imap]\nPassword = \"" + secret + "\"\n",
		"[backup]\ndir = \"/x\"\npasswort = \"" + secret + "\"\n",
		"[portal]\napi_token = \"" + secret + "\"\n",
		"[imap]\npassword = \"" + secret + "\n",      // unterminated string
		"[imap]\naddress = " + secret + "\n",         // bare word: invalid TOML
		"[imap]\nusername = \"x\"\n" + secret + "\n", // stray line
	} {
		os.WriteFile(p, []byte(body), 0o600)
		_, err := LoadConfig(p, true)
		if ErrorCode(err) != EINVALID {
			t.Errorf("%q: err = %v, want refusal", body, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(ErrorMessage(err), secret) {
			t.Errorf("%q: the error repeats the secret: %v", body, err)
		}
	}
	os.WriteFile(p, []byte("[imap]\npassword_env = \"AMTSTRESEN_IMAP_PASSWORD\"\n[audit]\nretention_months = 24\n[backup]\nschedule = \"0 4 * * *\"\n"), 0o600)
	c, err := LoadConfig(p, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.RetentionMonths != 24 || c.Backup.Schedule != "0 4 * * *" || c.Backup.Daily != 7 || c.Backup.Weekly != 4 {
		t.Errorf("config %+v %+v", c.Audit, c.Backup)
	}
}

// TestConfigJournalRetired: a configuration that still switches on the
// retired IMAP journal is refused with the way off it (PostgreSQL and
// migrate-db), not silently ignored (the counter would work alone).
func TestConfigJournalRetired(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(p, []byte("[imap]\naddress = \"m:993\"\n[journal]\nenabled = true\nsecret_env = \"J\"\n"), 0o600)
	_, err := LoadConfig(p, true)
	if ErrorCode(err) != EINVALID {
		t.Fatalf("err = %v, want refusal", err)
	}
	for _, want := range []string{"[journal]", "[database] url", "migrate-db"} {
		if !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("message %q does not name %s", ErrorMessage(err), want)
		}
	}
}
