package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"amtstresen/app"
	"amtstresen/sync"
	"amtstresen/sync/dovecottest"
	"amtstresen/sync/mailbox"
	"amtstresen/sync/portaltest"
)

var reg = app.Default()

func config(d *dovecottest.Server) *app.Config {
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: mailbox.TLSNone, Username: d.User},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	return cfg
}

func newSyncer(t testing.TB, d *dovecottest.Server, st sync.Store) *sync.Syncer {
	t.Helper()
	s, err := sync.New(config(d), st, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pw := d.Password
	s.Password = func() (string, error) { return pw, nil }
	return s
}

func examples(t testing.TB) map[string][]byte {
	dir := filepath.Join("..", "testdata", "examples")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".eml") {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		}
	}
	return out
}

func save(t testing.TB, d *dovecottest.Server, raws ...[]byte) {
	t.Helper()
	for _, r := range raws {
		if err := d.Save("INBOX", r); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSync(t testing.TB, s *sync.Syncer) *sync.Result {
	t.Helper()
	res, err := s.Sync(context.Background(), nil)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return res
}

// counts returns the number of mails in inbox, processed and review folder.
func counts(t testing.TB, d *dovecottest.Server) (inbox, processed, review int) {
	t.Helper()
	return d.MustCount(t, "INBOX"), d.MustCount(t, "Übernommen"), d.MustCount(t, "Zur Sichtung")
}
