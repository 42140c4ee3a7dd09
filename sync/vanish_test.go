package sync

import (
	"context"
	"testing"

	"github.com/emersion/go-imap/v2"

	"amtstresen/app"
	"amtstresen/sync/internal/dovecottest"
	"amtstresen/sync/internal/memstore"
	"amtstresen/sync/portaltest"
)

// TestFetchSkipsVanished (point 3): a mail another client expunged
// between the listing and the download (real Dovecot answers for it
// without a body) is skipped without a panic or an error, and the run
// that meets it keeps its cursor, so that nothing is passed over.
func TestFetchSkipsVanished(t *testing.T) {
	d := dovecottest.Start(t)
	g := portaltest.New(51)
	var mails []*portaltest.Mail
	for range 3 {
		m := g.Antrag(portaltest.AntragSpec{})
		mails = append(mails, m)
		if err := d.Save("INBOX", m.Raw); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &app.Config{IMAP: app.IMAPConfig{Address: d.Addr, TLS: TLSNone, Username: d.User},
		Portal: app.PortalConfig{PublicKey: portaltest.TestPublicKeyBase64()}}
	cfg.Defaults()
	s, err := New(cfg, memstore.New(), testReg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cl, err := dial(ctx, &s.cfg, d.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	refs, err := s.list(cl, 0)
	if err != nil || len(refs) != 3 {
		t.Fatalf("list: %v %d", err, len(refs))
	}
	// Another client takes the second mail away meanwhile.
	other, err := dial(ctx, &s.cfg, d.Password, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	set := imap.UIDSetNum(refs[1].uid)
	if err := other.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.UIDExpunge(set).Close(); err != nil {
		t.Fatal(err)
	}
	other.Logout().Wait()
	items, err := s.fetchBatch(cl, refs)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(items) != 2 || items[0].ref.uid != refs[0].uid || items[1].ref.uid != refs[2].uid {
		t.Fatalf("fetched %d mails", len(items))
	}
	if headers, err := s.fetchHeaders(cl, refs); err != nil || len(headers) != 2 {
		t.Errorf("headers: %v, %d", err, len(headers))
	}
}
