package mailconn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/zalando/go-keyring"

	"amtstresen/app"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "127.8.9.1": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST": true,
		"10.0.0.1": false, "mail.local": false, "localhost.example.de": false, "": false, "0.0.0.0": false} {
		if got := IsLoopback(host); got != want {
			t.Errorf("%q: %v", host, got)
		}
	}
	if err := CheckTLSMode("[smtp]", TLSNone, "192.168.1.5"); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("none remote: %v", err)
	}
	if err := CheckTLSMode("[smtp]", "", "127.0.0.1"); err == nil {
		t.Error("empty mode accepted")
	}
}

func TestTLSConfig(t *testing.T) {
	c, err := TLSConfig("mail.example.de:465", "", "[smtp] ca_file")
	if err != nil || c.ServerName != "mail.example.de" || c.InsecureSkipVerify || c.RootCAs != nil {
		t.Fatalf("%+v %v", c, err)
	}
	p := filepath.Join(t.TempDir(), "kein.pem")
	os.WriteFile(p, []byte("kein Zertifikat"), 0o644)
	if _, err := TLSConfig("mail.example.de:465", p, "[smtp] ca_file"); err == nil {
		t.Fatal("a file without a certificate was accepted")
	}
}

func TestSecret(t *testing.T) {
	keyring.MockInit()
	t.Setenv("AMTSTRESEN_TEST_SECRET", "")
	if _, where, err := Secret("AMTSTRESEN_TEST_SECRET", "svc", "acct"); err == nil || where == "" {
		t.Fatalf("nothing stored: %q %v", where, err)
	}
	keyring.Set("svc", "acct", "aus-dem-bund")
	if v, _, err := Secret("AMTSTRESEN_TEST_SECRET", "svc", "acct"); err != nil || v != "aus-dem-bund" {
		t.Fatalf("keyring: %q %v", v, err)
	}
	t.Setenv("AMTSTRESEN_TEST_SECRET", "aus-der-umgebung")
	if v, _, err := Secret("AMTSTRESEN_TEST_SECRET", "svc", "acct"); err != nil || v != "aus-der-umgebung" {
		t.Fatalf("env first: %q %v", v, err)
	}
}
