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

// TestConfigReturnChannel: [smtp], [portal] return_address and [[office]]
// are read with defaults; a password or private key in the file, a TLS
// mode that is not one of the three, "none" for a remote server, a switch
// to skip certificate checks and an unknown office are refused in German,
// without repeating a secret.
func TestConfigReturnChannel(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	write := func(body string) (*Config, error) {
		t.Helper()
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return LoadConfig(p, true)
	}
	c, err := write(`[smtp]
address = "mail.cochem.example:587"
tls = "starttls"
username = "buergerportal"
password_env = "AMTSTRESEN_SMTP_PASSWORD"
from = "Verbandsgemeindeverwaltung Cochem <buergerportal@cochem.example>"

[portal]
return_address = "rueckkanal@portal.example"

[[office]]
dienststelle = "vg-cochem"
key_file = "vg-cochem.key"

[[office]]
dienststelle = "kreis"
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Address != "mail.cochem.example:587" || c.SMTP.TLS != "starttls" || c.SMTP.PasswordEnv != "AMTSTRESEN_SMTP_PASSWORD" || c.Portal.ReturnAddress != "rueckkanal@portal.example" {
		t.Errorf("smtp %+v portal %+v", c.SMTP, c.Portal)
	}
	if got := c.OfficeKeyFile(OfficeCochem); got != filepath.Join(dir, "vg-cochem.key") {
		t.Errorf("key file of vg-cochem = %q (relative to the config file)", got)
	}
	if got := c.OfficeKeyFile(OfficeKreis); got != "" {
		t.Errorf("key file of kreis = %q, want keyring", got)
	}

	// Defaults: implicit TLS, the production return address; no [smtp] is fine.
	c, err = write("[imap]\naddress = \"m:993\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.TLS != "tls" || c.Portal.ReturnAddress != DefaultReturnAddress || c.SMTP.Address != "" {
		t.Errorf("defaults: smtp %+v portal %+v", c.SMTP, c.Portal)
	}
	c, err = write("[smtp]\naddress = \"127.0.0.1:2525\"\ntls = \"none\"\nfrom = \"a@b.example\"\n")
	if err != nil || c.SMTP.TLS != "none" {
		t.Errorf("tls none on loopback: %v", err)
	}

	const secret = "Geheim-0815-Mond"
	for _, tc := range []struct{ body, want string }{
		{"[smtp]\naddress = \"mail.x:587\"\nfrom = \"a@b.example\"\npassword = \"" + secret + "\"\n", "Passwort"},
		{"[smtp]\nPasswort = \"" + secret + "\"\n", "Passwort"},
		{"[[office]]\ndienststelle = \"vg-zell\"\nprivate_key = \"" + secret + "\"\n", "Passwort"},
		{"[smtp]\naddress = \"mail.x:587\"\ntls = \"ssl\"\nfrom = \"a@b.example\"\n", "tls = „ssl“ ist unbekannt"},
		{"[smtp]\naddress = \"mail.cochem.example:25\"\ntls = \"none\"\nfrom = \"a@b.example\"\n", "nur für einen Server auf diesem Rechner"},
		{"[smtp]\naddress = \"mail.x:587\"\ninsecure_skip_verify = true\nfrom = \"a@b.example\"\n", "Unbekannter Eintrag"},
		{"[smtp]\naddress = \"mail.x\"\nfrom = \"a@b.example\"\n", "address „mail.x“ ist ungültig"},
		{"[smtp]\naddress = \"mail.x:587\"\n", "[smtp] from fehlt"},
		{"[portal]\nreturn_address = \"kein-at\"\n", "return_address „kein-at“"},
		{"[[office]]\ndienststelle = \"vg-mayen\"\n", "dienststelle „vg-mayen“ ist unbekannt"},
		{"[[office]]\ndienststelle = \"vg-zell\"\n[[office]]\ndienststelle = \"vg-zell\"\n", "zweimal"},
	} {
		_, err := write(tc.body)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tc.want) {
			t.Errorf("%q: err = %v, want EINVALID with %q", tc.body, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(ErrorMessage(err), secret) {
			t.Errorf("%q: the error repeats the secret", tc.body)
		}
	}
}
